package dev.quorum.applet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * applet.properties is the one place scripts/cap takes the package, class and AIDs from: the
 * CAP file must install the applet these tests and the host select.
 */
class AppletPropertiesTest {

    @Test
    void capIdentityMatchesTheCode() throws IOException {
        Properties props = new Properties();
        try (Reader in = Files.newBufferedReader(Path.of(System.getProperty("quorum.applet.properties",
                "applet.properties")))) {
            props.load(in);
        }
        assertEquals(QuorumApplet.class.getName(), props.getProperty("applet.class"));
        assertEquals(QuorumApplet.class.getPackageName(), props.getProperty("package.name"));
        assertEquals(SimCard.HEX.formatHex(SimCard.AID_BYTES).toUpperCase(), props.getProperty("applet.aid"));
        String applet = props.getProperty("applet.aid");
        assertEquals(applet.substring(0, applet.length() - 2), props.getProperty("package.aid"),
                "the applet AID is the package AID and one byte");
    }
}

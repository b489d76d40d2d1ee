package dev.quorum.cardfarm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class OptionsTest {
    @Test
    void defaultsInstallTheQuorumApplet() {
        Options o = Options.parse(new String[] {"--readers", "r.tsv"});
        assertEquals(Path.of("r.tsv"), o.readersFile());
        assertEquals("dev.quorum.applet.QuorumApplet", o.applet().className());
        assertEquals("F051554F52554D0101", Probe.hex(o.applet().aid()));
        assertEquals(0, o.controlPort());
        assertEquals("127.0.0.1", o.vpcdHost());
    }

    /** The farm installs the applet under the AID and class scripts/cap builds the CAP with. */
    @Test
    void defaultAppletIsTheOneInAppletProperties() throws IOException {
        Properties props = new Properties();
        try (Reader in = Files.newBufferedReader(Path.of("../../applet/applet.properties"))) {
            props.load(in);
        }
        Options o = Options.parse(new String[] {"--readers", "r.tsv"});
        assertEquals(props.getProperty("applet.class"), o.applet().className());
        assertEquals(props.getProperty("applet.aid"), Probe.hex(o.applet().aid()));
    }

    @Test
    void appletNoneMeansCardsWithoutApplet() {
        assertNull(Options.parse(new String[] {"--readers", "r", "--applet", "none"}).applet());
    }

    @Test
    void badOptionsSayWhatIsWrong() {
        assertEquals("--readers FILE is required",
                assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[0])).getMessage());
        assertEquals("unknown option '--fast'", assertThrows(IllegalArgumentException.class,
                () -> Options.parse(new String[] {"--readers", "r", "--fast"})).getMessage());
        assertEquals("--log needs a value", assertThrows(IllegalArgumentException.class,
                () -> Options.parse(new String[] {"--readers", "r", "--log"})).getMessage());
        assertEquals("--control-port must be 0..65535, got 70000", assertThrows(IllegalArgumentException.class,
                () -> Options.parse(new String[] {"--readers", "r", "--control-port", "70000"})).getMessage());
    }

    @Test
    void readerTableGivesIndexPortAndName() {
        List<VirtualReader> readers = Options.parseReaders(List.of(
                "# index port name",
                "0\t35990\tQuorum Sim A 00 00",
                "",
                "1\t35991\tQuorum Sim A 00 01"), "127.0.0.1", "readers.tsv");
        assertEquals(2, readers.size());
        assertEquals(35991, readers.get(1).port());
        assertEquals("Quorum Sim A 00 01", readers.get(1).name());
    }

    @Test
    void readerTableErrorsNameTheLine() {
        assertEquals("readers.tsv:1: expected reader index 0, got 1", assertThrows(IllegalArgumentException.class,
                () -> Options.parseReaders(List.of("1\t35990\tX"), "127.0.0.1", "readers.tsv")).getMessage());
        assertEquals("readers.tsv:1: port must be 1..65535, got 0", assertThrows(IllegalArgumentException.class,
                () -> Options.parseReaders(List.of("0\t0\tX"), "127.0.0.1", "readers.tsv")).getMessage());
        assertEquals("readers.tsv:1: expected INDEX<TAB>PORT<TAB>NAME, got '0 35990 X'",
                assertThrows(IllegalArgumentException.class,
                        () -> Options.parseReaders(List.of("0 35990 X"), "127.0.0.1", "readers.tsv")).getMessage());
        assertEquals("readers.tsv: no readers listed", assertThrows(IllegalArgumentException.class,
                () -> Options.parseReaders(List.of("# none"), "127.0.0.1", "readers.tsv")).getMessage());
    }
}

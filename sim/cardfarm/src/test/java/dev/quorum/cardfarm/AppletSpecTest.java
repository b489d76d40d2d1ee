package dev.quorum.cardfarm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.quorum.cardfarm.testapplet.ProbeApplet;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class AppletSpecTest {
    @Test
    void installDataWithoutCapacityHasEmptyAppletData() {
        assertEquals("09" + AppletSpec.DEFAULT_AID + "00" + "00",
                Probe.hex(Probe.SPEC.installData(OptionalInt.empty())));
    }

    @Test
    void installDataCarriesTheCapacityBigEndian() {
        assertEquals("09" + AppletSpec.DEFAULT_AID + "00" + "02" + "2000",
                Probe.hex(Probe.SPEC.installData(OptionalInt.of(8192))));
    }

    @Test
    void capacityMustFitInTwoBytes() {
        assertThrows(IllegalArgumentException.class, () -> Probe.SPEC.installData(OptionalInt.of(0x10000)));
    }

    @Test
    void aidAcceptsSpacesAndRejectsBadHexOrLength() {
        assertEquals(AppletSpec.DEFAULT_AID,
                Probe.hex(AppletSpec.of("x.Y", "F0 51 55 4F 52 55 4D 01 01").aid()));
        assertThrows(IllegalArgumentException.class, () -> AppletSpec.of("x.Y", "F0ZZ"));
        assertThrows(IllegalArgumentException.class, () -> AppletSpec.of("x.Y", "F0515551"));
    }

    @Test
    void eachCardGetsItsOwnCopyOfTheAppletPackage() throws Exception {
        ClassLoader cp = getClass().getClassLoader();
        Class<?> a = Probe.SPEC.loadForOneCard(cp);
        Class<?> b = Probe.SPEC.loadForOneCard(cp);
        assertEquals(ProbeApplet.class.getName(), a.getName());
        assertNotSame(a, b);
        assertNotSame(ProbeApplet.class, a);
        assertSame(javacard.framework.Applet.class, a.getSuperclass(), "the JavaCard API stays shared");
    }

    @Test
    void unknownClassIsReported() {
        assertThrows(ClassNotFoundException.class,
                () -> AppletSpec.of("no.such.Applet", AppletSpec.DEFAULT_AID).loadForOneCard(getClass().getClassLoader()));
    }
}

package dev.quorum.cardfarm;

import static dev.quorum.cardfarm.Probe.command;
import static dev.quorum.cardfarm.Probe.hex;
import static dev.quorum.cardfarm.Probe.sw;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quorum.cardfarm.testapplet.ProbeApplet;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SimCardTest {
    private final List<SimCard> cards = new ArrayList<>();

    private SimCard card(OptionalInt capacity) throws FarmException {
        SimCard c = SimCard.create("t" + cards.size(), Probe.SPEC, capacity, getClass().getClassLoader());
        cards.add(c);
        return c;
    }

    @AfterEach
    void closeCards() {
        cards.forEach(SimCard::close);
    }

    @Test
    void selectsTheInstalledApplet() throws FarmException {
        assertEquals(0x9000, sw(card(OptionalInt.empty()).transmit(Probe.SELECT)));
    }

    @Test
    void installParametersReachTheApplet() throws FarmException {
        SimCard c = card(OptionalInt.of(1000));
        c.transmit(Probe.SELECT);
        assertEquals("03E89000", hex(c.transmit(command(ProbeApplet.INS_CAPACITY, new byte[0]))));
    }

    @Test
    void resetKeepsPersistentStateAndClearsTransientState() throws FarmException {
        SimCard c = card(OptionalInt.empty());
        c.transmit(Probe.SELECT);
        assertEquals(0x9000, sw(c.transmit(command(ProbeApplet.INS_PUT, hex("CAFE")))));
        assertEquals(0x9000, sw(c.transmit(command(ProbeApplet.INS_SET_FLAG, new byte[0]))));
        assertEquals("019000", hex(c.transmit(command(ProbeApplet.INS_GET_FLAG, new byte[0]))));

        c.reset();

        assertNotEquals(0x9000, sw(c.transmit(command(ProbeApplet.INS_GET, new byte[0]))),
                "after a reset no applet is selected");
        c.transmit(Probe.SELECT);
        assertEquals("CAFE9000", hex(c.transmit(command(ProbeApplet.INS_GET, new byte[0]))));
        assertEquals("009000", hex(c.transmit(command(ProbeApplet.INS_GET_FLAG, new byte[0]))));
    }

    @Test
    void cardsDoNotShareStaticFields() throws FarmException {
        SimCard a = card(OptionalInt.empty());
        SimCard b = card(OptionalInt.empty());
        for (SimCard c : List.of(a, b)) {
            c.transmit(Probe.SELECT);
            assertEquals("00019000", hex(c.transmit(command(ProbeApplet.INS_INSTANCES, new byte[0]))));
        }
    }

    @Test
    void cardsKeepTheirOwnState() throws FarmException {
        SimCard a = card(OptionalInt.empty());
        SimCard b = card(OptionalInt.empty());
        a.transmit(Probe.SELECT);
        b.transmit(Probe.SELECT);
        a.transmit(command(ProbeApplet.INS_PUT, hex("AA")));
        b.transmit(command(ProbeApplet.INS_PUT, hex("BB")));
        assertEquals("AA9000", hex(a.transmit(command(ProbeApplet.INS_GET, new byte[0]))));
        assertEquals("BB9000", hex(b.transmit(command(ProbeApplet.INS_GET, new byte[0]))));
    }

    @Test
    void callsFromManyThreadsRunInTheCardsOwnContext() throws Exception {
        SimCard a = card(OptionalInt.empty());
        SimCard b = card(OptionalInt.empty());
        a.transmit(Probe.SELECT);
        b.transmit(Probe.SELECT);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<byte[]>> answers = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                SimCard c = i % 2 == 0 ? a : b;
                byte[] data = {(byte) i};
                answers.add(pool.submit(() -> c.transmit(command(ProbeApplet.INS_ECHO, data))));
            }
            for (int i = 0; i < answers.size(); i++) {
                assertArrayEquals(new byte[] {(byte) i, (byte) 0x90, 0}, answers.get(i).get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aCardWithoutAnAppletAnswersSelectWithFileNotFound() throws FarmException {
        SimCard c = SimCard.create("bare", null, OptionalInt.empty(), getClass().getClassLoader());
        cards.add(c);
        assertEquals(0x6A82, sw(c.transmit(Probe.SELECT)));
        assertEquals(null, c.appletClass());
    }

    @Test
    void selectOfAnUnknownAidIsFileNotFoundAsOnACardManager() throws FarmException {
        SimCard c = card(OptionalInt.empty());
        assertEquals(0x6A82, sw(c.transmit(hex("00A4040005F051554F53"))));
        assertEquals(0x9000, sw(c.transmit(hex("00A4040005F051554F52"))), "a partial AID still selects");
    }

    @Test
    void anApduTooShortToParseIsAnswered6F00() throws FarmException {
        SimCard c = card(OptionalInt.empty());
        assertEquals("6F00", hex(c.transmit(hex("00A4"))));
        assertEquals(0x9000, sw(c.transmit(Probe.SELECT)), "the card still works afterwards");
    }

    @Test
    void appletInstallFailureCarriesTheStatusWord() {
        FarmException e = org.junit.jupiter.api.Assertions.assertThrows(FarmException.class,
                () -> card(OptionalInt.of(0)));
        assertTrue(e.getMessage().contains("6A80"), e.getMessage());
    }

    @Test
    void missingAppletClassSaysWhatToDo() {
        AppletSpec missing = AppletSpec.of("no.such.Applet", AppletSpec.DEFAULT_AID);
        FarmException e = org.junit.jupiter.api.Assertions.assertThrows(FarmException.class,
                () -> SimCard.create("x", missing, OptionalInt.empty(), getClass().getClassLoader()));
        assertTrue(e.getMessage().contains("no.such.Applet is not on the farm's classpath"), e.getMessage());
    }
}

package dev.quorum.cardfarm;

import static dev.quorum.cardfarm.Probe.command;
import static dev.quorum.cardfarm.Probe.hex;
import static dev.quorum.cardfarm.Probe.sw;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quorum.cardfarm.testapplet.ProbeApplet;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class VirtualReaderTest {
    private SimCard card;

    @BeforeEach
    void newCard() throws FarmException {
        card = SimCard.create("r", Probe.SPEC, OptionalInt.empty(), getClass().getClassLoader());
    }

    @AfterEach
    void closeCard() {
        card.close();
    }

    @Test
    void servesVpcdFramesWithTheInsertedCard() throws Exception {
        try (FakeVpcd vpcd = new FakeVpcd()) {
            VirtualReader reader = new VirtualReader(0, "Test 00 00", vpcd.address());
            reader.insert(card);
            vpcd.acceptCard();
            assertArrayEquals(Atr.bytes(), vpcd.send(new byte[] {VpcdFrames.GET_ATR}));
            vpcd.control(VpcdFrames.POWER_ON);
            assertEquals(0x9000, sw(vpcd.send(Probe.SELECT)));
            assertEquals("0A0B9000", hex(vpcd.send(command(ProbeApplet.INS_ECHO, hex("0A0B")))));
            assertEquals(VirtualReader.Link.CONNECTED, reader.link());
            reader.remove();
        }
    }

    @Test
    void powerOffAndResetClearTransientStateButKeepTheRest() throws Exception {
        try (FakeVpcd vpcd = new FakeVpcd()) {
            VirtualReader reader = new VirtualReader(0, "Test 00 00", vpcd.address());
            reader.insert(card);
            vpcd.acceptCard();
            for (int code : new int[] {VpcdFrames.POWER_OFF, VpcdFrames.RESET}) {
                vpcd.control(VpcdFrames.POWER_ON);
                vpcd.send(Probe.SELECT);
                vpcd.send(command(ProbeApplet.INS_PUT, new byte[] {(byte) code}));
                vpcd.send(command(ProbeApplet.INS_SET_FLAG, new byte[0]));
                vpcd.control(code);
                vpcd.control(VpcdFrames.POWER_ON);
                vpcd.send(Probe.SELECT);
                assertEquals("009000", hex(vpcd.send(command(ProbeApplet.INS_GET_FLAG, new byte[0]))));
                assertArrayEquals(new byte[] {(byte) code, (byte) 0x90, 0},
                        vpcd.send(command(ProbeApplet.INS_GET, new byte[0])));
            }
            reader.remove();
        }
    }

    @Test
    void pullingTheCardClosesTheSocketAndKeepsTheCardsState() throws Exception {
        try (FakeVpcd vpcd = new FakeVpcd()) {
            VirtualReader reader = new VirtualReader(0, "Test 00 00", vpcd.address());
            reader.insert(card);
            vpcd.acceptCard();
            vpcd.send(Probe.SELECT);
            vpcd.send(command(ProbeApplet.INS_PUT, hex("5EED")));
            vpcd.send(command(ProbeApplet.INS_SET_FLAG, new byte[0]));

            assertSame(card, reader.remove());
            assertTrue(vpcd.cardHungUp(), "pcscd must see the socket close");
            assertEquals(VirtualReader.Link.EMPTY, reader.link());
            assertNull(reader.remove(), "pulling from an empty reader is a no-op");

            reader.insert(card);
            vpcd.acceptCard();
            vpcd.send(Probe.SELECT);
            assertEquals("5EED9000", hex(vpcd.send(command(ProbeApplet.INS_GET, new byte[0]))));
            assertEquals("009000", hex(vpcd.send(command(ProbeApplet.INS_GET_FLAG, new byte[0]))),
                    "pulling a card cuts its power");
            reader.remove();
        }
    }

    @Test
    void reconnectsWhenVpcdDropsTheConnection() throws Exception {
        try (FakeVpcd vpcd = new FakeVpcd()) {
            VirtualReader reader = new VirtualReader(0, "Test 00 00", vpcd.address());
            reader.insert(card);
            vpcd.acceptCard();
            vpcd.send(Probe.SELECT);
            vpcd.send(command(ProbeApplet.INS_PUT, hex("77")));
            vpcd.dropCard();

            vpcd.acceptCard();
            vpcd.send(Probe.SELECT);
            assertEquals("779000", hex(vpcd.send(command(ProbeApplet.INS_GET, new byte[0]))));
            reader.remove();
        }
    }

    @Test
    void waitsForVpcdToListen() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        VirtualReader reader = new VirtualReader(0, "Test 00 00",
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port));
        reader.insert(card);
        assertEquals(VirtualReader.Link.CONNECTING, reader.link());
        try (FakeVpcd vpcd = new FakeVpcd(port)) {
            vpcd.acceptCard();
            assertEquals(0x9000, sw(vpcd.send(Probe.SELECT)));
            reader.remove();
        }
    }

    @Test
    void anArmedPullComesRightAfterTheNthAnswer() throws Exception {
        try (FakeVpcd vpcd = new FakeVpcd()) {
            VirtualReader reader = new VirtualReader(0, "Test 00 00", vpcd.address());
            reader.insert(card);
            vpcd.acceptCard();
            assertEquals(0, reader.pullAfter(3), "nothing answered yet");
            // Power and ATR frames are no APDUs: they do not count.
            vpcd.send(new byte[] {VpcdFrames.GET_ATR});
            vpcd.control(VpcdFrames.POWER_ON);
            assertEquals(0x9000, sw(vpcd.send(Probe.SELECT)));
            assertEquals(0x9000, sw(vpcd.send(command(ProbeApplet.INS_PUT, hex("C0DE")))));
            assertEquals(0x9000, sw(vpcd.send(command(ProbeApplet.INS_SET_FLAG, new byte[0]))),
                    "the third answer still reaches vpcd");
            assertTrue(vpcd.cardHungUp(), "then the card is gone");
            assertNull(reader.card());
            assertEquals(VirtualReader.Link.EMPTY, reader.link());
            assertNull(reader.remove(), "the reader is empty, as after remove");
            assertThrows(FarmException.class, () -> reader.pullAfter(1));

            reader.insert(card);
            vpcd.acceptCard();
            assertEquals(0, reader.pullAfter(0), "a new insertion counts from zero");
            vpcd.send(Probe.SELECT);
            assertEquals("C0DE9000", hex(vpcd.send(command(ProbeApplet.INS_GET, new byte[0]))),
                    "what the card wrote before the pull stays");
            assertEquals("009000", hex(vpcd.send(command(ProbeApplet.INS_GET_FLAG, new byte[0]))),
                    "the pull cut the card's power");
            assertEquals(3, reader.pullAfter(0));
            reader.remove();
        }
    }

    @Test
    void aShortApduReaderAnswersExtendedOnes6700ItselfAndCountsNone() throws Exception {
        try (FakeVpcd vpcd = new FakeVpcd()) {
            VirtualReader reader = new VirtualReader(0, "Test 00 00", vpcd.address());
            reader.insert(card);
            vpcd.acceptCard();
            vpcd.send(Probe.SELECT);
            reader.shortApdusOnly(true);
            assertTrue(reader.carriesShortApdusOnly());
            // PUT of C0DE in extended form: Lc 00 00 02.
            byte[] extended = hex("80" + String.format("%02X", ProbeApplet.INS_PUT) + "0000000002C0DE");
            assertEquals("6700", hex(vpcd.send(extended)), "the reader's own answer");
            assertEquals(0x9000, sw(vpcd.send(command(ProbeApplet.INS_PUT, hex("BEEF")))), "short ones pass");
            assertEquals(2, reader.pullAfter(0), "SELECT and the short PUT: the refused one never reached the card");
            reader.shortApdusOnly(false);
            assertTrue(!reader.carriesShortApdusOnly());
            assertEquals(0x6700, sw(vpcd.send(extended)),
                    "now the card's runtime answers it (the probe applet has no ExtendedLength)");
            assertEquals(3, reader.pullAfter(0));
            reader.remove();
        }
    }

    @Test
    void everyCommandApduCountsGetResponseAndRefusedOnesIncluded() throws Exception {
        try (FakeVpcd vpcd = new FakeVpcd()) {
            VirtualReader reader = new VirtualReader(0, "Test 00 00", vpcd.address());
            reader.insert(card);
            vpcd.acceptCard();
            vpcd.send(Probe.SELECT);
            assertEquals(1, reader.pullAfter(2));
            assertEquals(0x6D00, sw(vpcd.send(hex("00C0000000"))), "GET RESPONSE, refused by the probe");
            assertEquals(0x6D00, sw(vpcd.send(command((byte) 0x7E, new byte[0]))));
            assertTrue(vpcd.cardHungUp());
            assertNull(reader.card());
        }
    }

    @Test
    void disarmingOrTakingTheCardOutLeavesNoPullArmed() throws Exception {
        try (FakeVpcd vpcd = new FakeVpcd()) {
            VirtualReader reader = new VirtualReader(0, "Test 00 00", vpcd.address());
            reader.insert(card);
            vpcd.acceptCard();
            reader.pullAfter(1);
            assertEquals(0, reader.pullAfter(0));
            for (int i = 0; i < 3; i++) {
                assertEquals(0x9000, sw(vpcd.send(Probe.SELECT)));
            }
            assertSame(card, reader.card(), "disarmed: still in after 3 APDUs");

            reader.pullAfter(2);
            assertEquals(0x9000, sw(vpcd.send(Probe.SELECT)));
            assertSame(card, reader.remove());
            assertTrue(vpcd.cardHungUp());
            reader.insert(card);
            vpcd.acceptCard();
            for (int i = 0; i < 3; i++) {
                assertEquals(0x9000, sw(vpcd.send(Probe.SELECT)));
            }
            assertSame(card, reader.card(), "a new insertion starts with nothing armed");
            reader.remove();
        }
    }
}

package dev.quorum.applet;

import static dev.quorum.applet.SimCard.HEX;
import static dev.quorum.applet.SimCard.LIMIT;
import static dev.quorum.applet.SimCard.PIN;
import static dev.quorum.applet.SimCard.bytes;
import static dev.quorum.applet.SimCard.pinBlock;
import static dev.quorum.applet.SimCard.stream;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quorum.faults.FaultInjector;
import dev.quorum.faults.SmallBuffer;
import dev.quorum.faults.SmallBufferClassLoader;
import dev.quorum.faults.TearingClassLoader;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import javacard.framework.Applet;
import javax.smartcardio.ResponseAPDU;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Protocol 1.4: PUT RECORD pieces in ISO 7816-4 extended-length APDUs (Lc = 00 HH LL), every other
 * command in extended form answered 6700 after the class checks.
 * <p>
 * jcardsim gives an applet that implements ExtendedLength a 32777-byte buffer and the whole data
 * field at the first setIncomingAndReceive(), so its receive loop would never run; a real card's
 * buffer is often a few hundred bytes. The same scenarios therefore also run on the applet loaded
 * through {@link SmallBufferClassLoader}, whose receive calls deliver at most a few bytes at a time
 * into a 261-byte buffer (APDUException BUFFER_BOUNDS past its end), header split across chunks
 * included.
 */
class ExtendedLengthTest {

    /** Room for a 255-custodian record (~21 KB). */
    private static final int BIG_CAPACITY = 0x6000;
    /** A record of ~21 KB, as a card of a 255-custodian set holds. */
    private static final byte[] BIG_PUBLIC = bytes(21_000, 61);
    private static final byte[] BIG_SEALED = bytes(81, 62);
    private static final byte[] OLD_PUBLIC = bytes(700, 63);
    private static final byte[] OLD_SEALED = bytes(81, 64);

    /** How the applet is run: jcardsim as it is, or through the small-buffer loader. */
    record Runtime(String name, Class<? extends Applet> applet, int bufferSize, int chunk) {
        SimCard card(int capacity) {
            if (chunk > 0) {
                SmallBuffer.configure(bufferSize, chunk);
            }
            return SimCard.installed(applet, SimCard.capacityParameters(capacity));
        }

        boolean chunked() {
            return chunk > 0;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private static final Path CLASSES = Paths.get(System.getProperty("quorum.card.classes", "target/classes"));

    private static Class<? extends Applet> smallBufferApplet(boolean tearing) {
        try {
            return new SmallBufferClassLoader(CLASSES, ExtendedLengthTest.class.getClassLoader(), tearing)
                    .loadClass(QuorumApplet.class.getName()).asSubclass(Applet.class);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final Class<? extends Applet> SMALL = smallBufferApplet(false);

    static Stream<Runtime> runtimes() {
        return Stream.of(new Runtime("jcardsim", QuorumApplet.class, 0, 0),
                new Runtime("261-byte buffer, 1-byte chunks", SMALL, 261, 1),
                new Runtime("261-byte buffer, 3-byte chunks", SMALL, 261, 3),
                new Runtime("261-byte buffer, 254-byte chunks (T=1 IFSC)", SMALL, 261, 254),
                new Runtime("133-byte buffer, 61-byte chunks", SMALL, 133, 61));
    }

    @AfterEach
    void powerBack() {
        FaultInjector.disarm();
    }

    // ---------------------------------------------------------------- encoding

    /**
     * An APDU in extended form: data null = no Lc; le -1 = no Le, else a 2-byte Le (0 = 65536).
     * With neither it is case 1, which has no extended form: use le.
     */
    static byte[] ext(int cla, int ins, int p1, int p2, byte[] data, int le) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(cla);
        out.write(ins);
        out.write(p1);
        out.write(p2);
        out.write(0);
        if (data != null) {
            out.write(data.length >> 8);
            out.write(data.length);
            out.writeBytes(data);
        }
        if (le >= 0) {
            out.write(le >> 8);
            out.write(le);
        }
        return out.toByteArray();
    }

    /** PUT RECORD in one extended APDU (case 3E). */
    static byte[] putExtended(int cla, int p1, byte[] piece) {
        return ext(cla, 0x14, p1, 0x00, piece, -1);
    }

    /** A personalised card with the PIN validated. */
    private static SimCard ready(Runtime rt, int capacity) {
        SimCard card = rt.card(capacity);
        card.expect(0x9000, card.initialise(LIMIT, PIN));
        card.expect(0x9000, card.verify(PIN));
        return card;
    }

    /** SELECT shows the record (state, header, digest), GET RECORD reads both parts back byte-exact. */
    private static void assertHolds(SimCard card, byte[] pub, byte[] sealed) {
        ResponseAPDU select = card.expect(0x9000, card.select());
        byte[] status = card.expect(0x9000, card.status()).getData();
        assertEquals(2, status[0], "state");
        assertEquals(HEX.formatHex(SimCard.selectAnswer(status, pub, sealed)), HEX.formatHex(select.getData()));
        assertArrayEquals(SimCard.sha256(pub), Arrays.copyOfRange(select.getData(), select.getData().length - 32,
                select.getData().length), "public digest");
        assertArrayEquals(pub, card.expect(0x9000, card.getRecord(0x00)).getData(), "public part");
        card.expect(0x9000, card.verify(PIN));
        assertArrayEquals(sealed, card.expect(0x9000, card.getRecord(0x01)).getData(), "sealed part");
    }

    // ---------------------------------------------------------------- PUT RECORD

    @Nested
    class PutRecord {

        @ParameterizedTest(name = "{0}")
        @MethodSource("dev.quorum.applet.ExtendedLengthTest#runtimes")
        void a21KilobyteRecordInOneApdu(Runtime rt) {
            SimCard card = ready(rt, BIG_CAPACITY);
            byte[] s = stream(BIG_PUBLIC, BIG_SEALED);
            assertTrue(s.length > 21_000);
            card.expect(0x9000, card.transmit(putExtended(0x80, 0x00, s)));
            if (rt.chunked()) {
                assertTrue(SmallBuffer.mostCallsPerApdu() >= (s.length + rt.chunk() - 1) / rt.chunk(),
                        "the data field was not received chunk by chunk: " + SmallBuffer.mostCallsPerApdu());
                assertTrue(SmallBuffer.highWater() <= rt.bufferSize());
            }
            assertHolds(card, BIG_PUBLIC, BIG_SEALED);
        }

        /** Extended and short pieces in one chain, an empty short piece and an empty 2E piece among them. */
        @ParameterizedTest(name = "{0}")
        @MethodSource("dev.quorum.applet.ExtendedLengthTest#runtimes")
        void aChainMixingExtendedAndShortPieces(Runtime rt) {
            SimCard card = ready(rt, BIG_CAPACITY);
            card.expect(0x9000, card.putRecord(stream(OLD_PUBLIC, OLD_SEALED), 255));
            byte[] s = stream(BIG_PUBLIC, BIG_SEALED);
            int[] cuts = {1000, 1255, 9255, 9255, 9256, 9500, 20_000, 20_000, s.length};
            int from = 0;
            for (int i = 0; i < cuts.length; i++) {
                byte[] piece = Arrays.copyOfRange(s, from, cuts[i]);
                boolean last = i == cuts.length - 1;
                int cla = last ? 0x80 : 0x90;
                byte[] apdu;
                if (piece.length == 0) {
                    apdu = i % 4 == 3 ? HEX.parseHex("90140000") : ext(0x90, 0x14, 0x00, 0x00, null, 0);
                } else if (i % 2 == 0) {
                    apdu = putExtended(cla, 0x00, piece);
                } else {
                    apdu = new javax.smartcardio.CommandAPDU(cla, 0x14, 0x00, 0x00, piece).getBytes();
                    assertTrue(piece.length <= 255);
                }
                card.expect(0x9000, card.transmit(apdu));
                from = cuts[i];
            }
            assertHolds(card, BIG_PUBLIC, BIG_SEALED);
        }

        /** A first extended APDU holding only the header, then the rest in a second one. */
        @ParameterizedTest(name = "{0}")
        @MethodSource("dev.quorum.applet.ExtendedLengthTest#runtimes")
        void theHeaderAloneInAnExtendedApduThenTheRest(Runtime rt) {
            SimCard card = ready(rt, BIG_CAPACITY);
            byte[] s = stream(BIG_PUBLIC, BIG_SEALED);
            card.expect(0x9000, card.transmit(putExtended(0x90, 0x00, Arrays.copyOf(s, 4))));
            card.expect(0x9000, card.transmit(putExtended(0x80, 0x00, Arrays.copyOfRange(s, 4, s.length))));
            assertHolds(card, BIG_PUBLIC, BIG_SEALED);
        }

        /** Capacity 32763: the whole stream is 32767 bytes, the largest Lc there is. */
        @ParameterizedTest(name = "{0}")
        @MethodSource("dev.quorum.applet.ExtendedLengthTest#runtimes")
        void theLargestStream(Runtime rt) {
            SimCard card = ready(rt, 32763);
            byte[] pub = bytes(32_000, 65);
            byte[] sealed = bytes(763, 66);
            byte[] s = stream(pub, sealed);
            assertEquals(32767, s.length);
            byte[] apdu = putExtended(0x80, 0x00, s);
            assertEquals("7FFF", HEX.formatHex(apdu, 5, 7).toUpperCase());
            card.expect(0x9000, card.transmit(apdu));
            assertHolds(card, pub, sealed);
            // one byte more than the capacity: 6A84, the record stays
            card.expect(0x9000, card.verify(PIN));
            byte[] over = stream(bytes(32_000, 67), bytes(764, 68));
            card.expect(0x6A84, card.transmit(putExtended(0x80, 0x00, Arrays.copyOf(over, 32767))));
            assertHolds(card, pub, sealed);
        }

        /** Case 4E (an Le after the data) is accepted as case 4S is: the Le is ignored. */
        @ParameterizedTest(name = "{0}")
        @MethodSource("dev.quorum.applet.ExtendedLengthTest#runtimes")
        void withAnExtendedLe(Runtime rt) {
            SimCard card = ready(rt, BIG_CAPACITY);
            byte[] s = stream(BIG_PUBLIC, BIG_SEALED);
            ResponseAPDU r = card.expect(0x9000, card.transmit(ext(0x80, 0x14, 0x00, 0x00, s, 0)));
            assertEquals(0, r.getData().length);
            assertHolds(card, BIG_PUBLIC, BIG_SEALED);
        }

        /** More record bytes than the header announced: 6700, nothing staged, the previous record stays. */
        @ParameterizedTest(name = "{0}")
        @MethodSource("dev.quorum.applet.ExtendedLengthTest#runtimes")
        void moreBytesThanAnnounced(Runtime rt) {
            SimCard card = ready(rt, BIG_CAPACITY);
            card.expect(0x9000, card.putRecord(stream(OLD_PUBLIC, OLD_SEALED), 255));
            byte[] s = stream(BIG_PUBLIC, BIG_SEALED);
            byte[] longer = Arrays.copyOf(s, s.length + 1);
            card.expect(0x6700, card.transmit(putExtended(0x80, 0x00, longer)));
            card.expect(0x6700, card.transmit(putExtended(0x90, 0x00, longer)));
            // in a chain: the second piece is one byte too long
            card.expect(0x9000, card.transmit(putExtended(0x90, 0x00, Arrays.copyOf(s, 5000))));
            card.expect(0x6700, card.transmit(putExtended(0x80, 0x00, Arrays.copyOfRange(longer, 5000, longer.length))));
            // the chain is gone: its correct rest is now read as a header
            assertNotEquals(0x9000, card.transmit(putExtended(0x80, 0x00, Arrays.copyOfRange(s, 5000, s.length))).getSW());
            // and the last APDU leaving fewer bytes: 6700
            card.expect(0x6700, card.transmit(putExtended(0x80, 0x00, Arrays.copyOf(s, s.length - 1))));
            assertHolds(card, OLD_PUBLIC, OLD_SEALED);
        }

        @ParameterizedTest(name = "{0}")
        @MethodSource("dev.quorum.applet.ExtendedLengthTest#runtimes")
        void pendingKeyInOneApdu(Runtime rt) {
            SimCard card = ready(rt, BIG_CAPACITY);
            card.expect(0x9000, card.putRecord(stream(OLD_PUBLIC, OLD_SEALED), 255));
            byte[] oldKey = card.parsedStatus().publicKey();
            // P1 = 01 without a pending key: 6985
            card.expect(0x6985, card.transmit(putExtended(0x80, 0x01, stream(BIG_PUBLIC, BIG_SEALED))));
            byte[] pending = card.expect(0x9000, card.prepareKey()).getData();
            card.expect(0x9000, card.transmit(putExtended(0x80, 0x01, stream(BIG_PUBLIC, BIG_SEALED))));
            SimCard.Status status = card.parsedStatus();
            assertArrayEquals(pending, status.publicKey(), "the pending key is not the card's key");
            assertFalse(status.keyPending());
            assertFalse(Arrays.equals(oldKey, status.publicKey()));
            assertArrayEquals(Arrays.copyOfRange(pending, 1, 33),
                    card.expect(0x9000, card.unseal(WeiMath.encode(WeiMath.G))).getData());
            assertHolds(card, BIG_PUBLIC, BIG_SEALED);
        }

        /** The checks before the header keep their order and come before any byte is looked at. */
        @ParameterizedTest(name = "{0}")
        @MethodSource("dev.quorum.applet.ExtendedLengthTest#runtimes")
        void checksInOrder(Runtime rt) {
            SimCard card = rt.card(BIG_CAPACITY);
            byte[] s = stream(BIG_PUBLIC, BIG_SEALED);
            card.expect(0x6E00, card.transmit(putExtended(0x00, 0x00, s)));
            card.expect(0x6A86, card.transmit(putExtended(0x80, 0x02, s)));
            card.expect(0x6A86, card.transmit(ext(0x80, 0x14, 0x00, 0x01, s, -1)));
            card.expect(0x6985, card.transmit(putExtended(0x80, 0x00, s)));
            card.expect(0x9000, card.initialise(LIMIT, PIN));
            card.expect(0x6982, card.transmit(putExtended(0x80, 0x00, s)));
            card.expect(0x9000, card.verify(PIN));
            card.expect(0x6A80, card.transmit(putExtended(0x80, 0x00, Arrays.copyOf(s, 3))));
            card.expect(0x6A80, card.transmit(putExtended(0x80, 0x00, HEX.parseHex("00000051" + "00".repeat(81)))));
            card.expect(0x6A84, card.transmit(putExtended(0x80, 0x00, HEX.parseHex("5FFF0002" + "00".repeat(0x6001)))));
            card.expect(0x6A80, card.transmit(ext(0x80, 0x14, 0x00, 0x00, null, 0)));
            // a P1 other than the chain's first: 6A86, the chain aborted
            card.expect(0x9000, card.transmit(putExtended(0x90, 0x00, Arrays.copyOf(s, 300))));
            card.expect(0x6A86, card.transmit(putExtended(0x80, 0x01, Arrays.copyOfRange(s, 300, s.length))));
            card.expect(0x9000, card.transmit(putExtended(0x80, 0x00, s)));
            assertHolds(card, BIG_PUBLIC, BIG_SEALED);
            for (int i = LIMIT; i > 0; i--) {
                card.verify("000000");
            }
            card.expect(0x6983, card.transmit(putExtended(0x80, 0x00, s)));
        }

        /**
         * An oversized piece writes nothing persistent, and the first APDU of a stream writes only
         * its used extent before its length check: counted through the tearing build.
         */
        @ParameterizedTest(name = "small buffer: {0}")
        @ValueSource(booleans = {false, true})
        void anOversizedPieceStagesNothing(boolean smallBuffer) throws ClassNotFoundException {
            Class<? extends Applet> applet = smallBuffer ? smallBufferApplet(true)
                    : new TearingClassLoader(CLASSES, getClass().getClassLoader())
                            .loadClass(QuorumApplet.class.getName()).asSubclass(Applet.class);
            SmallBuffer.configure(261, 32);
            SimCard card = SimCard.installed(applet, SimCard.capacityParameters(BIG_CAPACITY));
            card.expect(0x9000, card.initialise(LIMIT, PIN));
            card.expect(0x9000, card.verify(PIN));
            byte[] s = stream(BIG_PUBLIC, BIG_SEALED);
            card.expect(0x9000, card.transmit(putExtended(0x90, 0x00, Arrays.copyOf(s, 1000))));
            byte[] longer = Arrays.copyOf(s, s.length + 1);
            FaultInjector.count();
            card.expect(0x6700, card.transmit(putExtended(0x80, 0x00, Arrays.copyOfRange(longer, 1000, longer.length))));
            assertEquals(List.of(), FaultInjector.trace(), "an oversized piece wrote");
            FaultInjector.count();
            card.expect(0x6700, card.transmit(putExtended(0x80, 0x00, longer)));
            for (String write : FaultInjector.trace()) {
                assertTrue(write.startsWith("RecordStore.reserve"), "an oversized first piece wrote " + write);
            }
            FaultInjector.disarm();
            // the used extent grows on a larger first piece: that one write, then nothing staged
            byte[] larger = stream(BIG_PUBLIC, bytes(200, 69));
            FaultInjector.count();
            card.expect(0x6700, card.transmit(putExtended(0x80, 0x00, Arrays.copyOf(larger, larger.length + 1))));
            assertEquals(1, FaultInjector.operations(), "writes: " + FaultInjector.trace());
            assertTrue(FaultInjector.trace().get(0).startsWith("RecordStore.reserve"), FaultInjector.trace().toString());
            FaultInjector.disarm();
        }
    }

    // ---------------------------------------------------------------- every other command

    @Nested
    class OtherCommands {

        /** Each command in extended form (2E with Le 0000 and 0100, 3E/4E with its usual data). */
        static List<byte[]> extendedForms() {
            byte[] point = WeiMath.encode(WeiMath.G);
            byte[] initialise = new byte[13];
            initialise[0] = 5;
            System.arraycopy(pinBlock("654321"), 0, initialise, 1, 12);
            byte[] change = new byte[24];
            System.arraycopy(pinBlock(PIN), 0, change, 0, 12);
            System.arraycopy(pinBlock("654321"), 0, change, 12, 12);
            return List.of(
                    ext(0x00, 0x20, 0x00, 0x81, pinBlock(PIN), -1),
                    ext(0x00, 0x20, 0x00, 0x81, pinBlock(PIN), 0),
                    ext(0x00, 0x20, 0xFF, 0x81, null, 0),
                    ext(0x80, 0x10, 0x00, 0x00, null, 0),
                    ext(0x80, 0x10, 0x00, 0x00, null, 0x100),
                    ext(0x80, 0x16, 0x00, 0x00, null, 0),
                    ext(0x80, 0x16, 0x01, 0x00, null, 0x7FFF),
                    ext(0x80, 0x18, 0x00, 0x00, point, 0),
                    ext(0x80, 0x18, 0x01, 0x00, point, -1),
                    ext(0x80, 0x12, 0x00, 0x00, initialise, 0),
                    ext(0x00, 0x24, 0x00, 0x81, change, -1),
                    ext(0x80, 0x1C, 0x00, 0x00, null, 0),
                    ext(0x80, 0x1E, 0xAA, 0x55, null, 0),
                    ext(0x80, 0x1E, 0xAA, 0x55, new byte[300], -1),
                    ext(0x00, 0xC0, 0x00, 0x00, null, 0x100),
                    ext(0x00, 0xA4, 0x04, 0x00, SimCard.AID_BYTES, 0),
                    ext(0x00, 0xA4, 0x04, 0x00, HEX.parseHex("F051554F52554D0199"), 0));
        }

        @ParameterizedTest(name = "{0}")
        @MethodSource("dev.quorum.applet.ExtendedLengthTest#runtimes")
        void answer6700AndChangeNothing(Runtime rt) {
            for (byte[] apdu : extendedForms()) {
                String what = HEX.formatHex(apdu, 0, Math.min(apdu.length, 12));
                SimCard card = ready(rt, 2048);
                card.expect(0x9000, card.putRecord(stream(OLD_PUBLIC, OLD_SEALED), 255));
                // pending output, which the refused APDU drops
                card.expect(0x6100, card.transmit(new javax.smartcardio.CommandAPDU(0x80, 0x16, 0x00, 0x00, 256)));
                byte[] before = card.expect(0x9000, card.status()).getData();
                assertEquals(0x6700, card.transmit(apdu).getSW(), what);
                card.expect(0x6985, card.transmit(new javax.smartcardio.CommandAPDU(0x00, 0xC0, 0x00, 0x00, 256)));
                assertArrayEquals(before, card.expect(0x9000, card.status()).getData(), what + " changed the status");
                assertHolds(card, OLD_PUBLIC, OLD_SEALED);
            }
        }

        @ParameterizedTest(name = "{0}")
        @MethodSource("dev.quorum.applet.ExtendedLengthTest#runtimes")
        void abortAChainAfterTheClassChecks(Runtime rt) {
            byte[] s = stream(BIG_PUBLIC, BIG_SEALED);
            for (byte[] apdu : extendedForms()) {
                String what = HEX.formatHex(apdu, 0, Math.min(apdu.length, 12));
                SimCard card = ready(rt, BIG_CAPACITY);
                card.expect(0x9000, card.transmit(putExtended(0x90, 0x00, Arrays.copyOf(s, 3000))));
                // while a chain is active, 6883 comes first (class check), and aborts it
                assertEquals(0x6883, card.transmit(apdu).getSW(), what);
                assertNotEquals(0x9000, card.transmit(putExtended(0x80, 0x00, Arrays.copyOfRange(s, 3000, s.length))).getSW(),
                        what + ": the chain survived");
                card.expect(0x9000, card.status());
                assertEquals(1, card.parsedStatus().state(), what);
            }
        }

        /** The class checks come first: 6E00, 6884, 6D00 on an APDU in extended form too. */
        @Test
        void classChecksComeFirst() {
            SimCard card = SimCard.personalised();
            card.expect(0x6E00, card.transmit(ext(0x80, 0x20, 0x00, 0x81, pinBlock(PIN), -1)));
            card.expect(0x6E00, card.transmit(ext(0x00, 0x10, 0x00, 0x00, null, 0)));
            card.expect(0x6E00, card.transmit(ext(0x84, 0x14, 0x00, 0x00, new byte[300], -1)));
            card.expect(0x6884, card.transmit(ext(0x10, 0x20, 0x00, 0x81, pinBlock(PIN), -1)));
            card.expect(0x6884, card.transmit(ext(0x90, 0x10, 0x00, 0x00, null, 0)));
            card.expect(0x6D00, card.transmit(ext(0x80, 0x42, 0x00, 0x00, new byte[1000], 0)));
            card.expect(0x6D00, card.transmit(ext(0x00, 0xB0, 0x00, 0x00, null, 0)));
            // and a chain aborted by them
            card.expect(0x9000, card.verify(PIN));
            byte[] s = stream(OLD_PUBLIC, OLD_SEALED);
            card.expect(0x9000, card.transmit(putExtended(0x90, 0x00, Arrays.copyOf(s, 300))));
            card.expect(0x6E00, card.transmit(ext(0x80, 0x20, 0x00, 0x81, pinBlock(PIN), -1)));
            assertNotEquals(0x9000, card.transmit(putExtended(0x80, 0x00, Arrays.copyOfRange(s, 300, s.length))).getSW());
            assertEquals(1, card.parsedStatus().state());
        }

        /** A VERIFY in extended form neither validates nor spends a try, and leaves no PIN in the buffer. */
        @Test
        void verifyInExtendedFormIsNotAVerify() {
            SimCard card = SimCard.personalised();
            card.expect(0x6700, card.transmit(ext(0x00, 0x20, 0x00, 0x81, pinBlock(PIN), -1)));
            assertFalse(card.parsedStatus().validated());
            card.expect(0x6700, card.transmit(ext(0x00, 0x20, 0x00, 0x81, pinBlock("000000"), -1)));
            assertEquals(LIMIT, card.parsedStatus().triesLeft());
            card.expect(0x6982, card.transmit(ext(0x80, 0x14, 0x00, 0x00, new byte[300], -1)));
        }
    }

    // ---------------------------------------------------------------- jcardsim's runtime

    @Nested
    class Jcardsim {

        /** An extended Lc of 8000 and more is no APDU jcardsim can parse: it throws, the card is untouched. */
        @Test
        void lcAbove32767IsRefusedByTheRuntime() {
            SimCard card = SimCard.enrolled(OLD_PUBLIC, OLD_SEALED);
            byte[] apdu = new byte[7 + 0x8000];
            System.arraycopy(HEX.parseHex("801400000080" + "00"), 0, apdu, 0, 7);
            assertThrows(IllegalArgumentException.class, () -> card.transmit(apdu));
            assertHolds(card, OLD_PUBLIC, OLD_SEALED);
        }

        /** jcardsim reports the data offset 7 for every extended case, 2E included; 5 for short ones. */
        @Test
        void case2eCountsAsExtended() {
            SimCard card = SimCard.personalised();
            card.expect(0x6700, card.transmit(HEX.parseHex("80100000000000")));
            card.expect(0x6700, card.transmit(HEX.parseHex("80100000000100")));
            card.expect(0x9000, card.transmit(HEX.parseHex("8010000000")));
        }
    }
}

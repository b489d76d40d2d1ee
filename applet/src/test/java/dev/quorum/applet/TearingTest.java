package dev.quorum.applet;

import static dev.quorum.applet.SimCard.bytes;
import static dev.quorum.applet.SimCard.pinBlock;
import static dev.quorum.applet.SimCard.stream;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.quorum.faults.FaultInjector;
import dev.quorum.faults.SmallBuffer;
import dev.quorum.faults.SmallBufferClassLoader;
import dev.quorum.faults.TearingClassLoader;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import javacard.framework.Applet;
import javax.smartcardio.CommandAPDU;
import javax.smartcardio.ResponseAPDU;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Tearing inside one APDU. The applet's release classes are loaded a second time with every
 * persistent write routed through {@link FaultInjector}; for each command that writes, the power
 * is cut before its 1st, 2nd, ... k-th write (and half-way through every multi-byte copy) until
 * the command completes. After each cut the card is powered up again and must show exactly its
 * old state or its new one (life-cycle, tries left, limit, key, record, which PIN works, and a
 * private key that matches the public key; and a pending key, if GET STATUS says there is one,
 * that is whole and the expected one), must pass from old to new at exactly one write — the
 * documented commit point — and must then work normally, key renewal included.
 * <p>
 * A pending key is invisible until PUT RECORD P1=01 makes it active, so when GET STATUS shows
 * one, {@link #observe} reveals it: UNSEAL must still answer with the active key, then the same
 * record is written again with P1=01, and GET STATUS and UNSEAL must show the pending key.
 */
class TearingTest {

    private static final int CAPACITY = 512;
    private static final String PIN = SimCard.PIN;
    private static final String NEW_PIN = "24680135";
    private static final String OTHER_PIN = "97531086";
    private static final String WRONG_PIN = "000000";
    private static final int LIMIT = SimCard.LIMIT;
    private static final byte[] PUB_A = bytes(100, 41);
    private static final byte[] SEALED_A = bytes(81, 42);
    private static final byte[] PUB_B = bytes(400, 43);
    private static final byte[] SEALED_B = bytes(81, 44);
    private static final byte[] PUB_C = bytes(230, 45);
    private static final byte[] SEALED_C = bytes(60, 46);

    private static Class<? extends Applet> tearing;
    /** The tearing build that also receives in chunks of a small buffer (SmallBuffer). */
    private static Class<? extends Applet> tearingSmallBuffer;
    /** The build freshCard installs. */
    private static Class<? extends Applet> instrumented;

    @BeforeAll
    static void loadInstrumentedApplet() throws ClassNotFoundException {
        Path classes = Paths.get(System.getProperty("quorum.card.classes", "target/classes"));
        ClassLoader loader = new TearingClassLoader(classes, TearingTest.class.getClassLoader());
        tearing = loader.loadClass(QuorumApplet.class.getName()).asSubclass(Applet.class);
        assertNotSame(QuorumApplet.class, tearing, "the applet was not loaded through the instrumenting loader");
        tearingSmallBuffer = new SmallBufferClassLoader(classes, TearingTest.class.getClassLoader(), true)
                .loadClass(QuorumApplet.class.getName()).asSubclass(Applet.class);
        instrumented = tearing;
    }

    @AfterEach
    void powerBack() {
        FaultInjector.disarm();
        instrumented = tearing;
    }

    // ---------------------------------------------------------------- what a host can see

    /**
     * A state the card may be found in after a cut; key null = any valid key other than notKey.
     * pending: whether a pending key exists; pendingKey null = any valid key other than the active
     * key and notPendingKey.
     */
    record Known(String name, int state, int tries, int limit, String pin, byte[] key, byte[] notKey,
                 byte[] pub, byte[] sealed, boolean pending, byte[] pendingKey, byte[] notPendingKey) {

        /** A state without a pending key. */
        Known(String name, int state, int tries, int limit, String pin, byte[] key, byte[] notKey,
              byte[] pub, byte[] sealed) {
            this(name, state, tries, limit, pin, key, notKey, pub, sealed, false, null, null);
        }

        Known withTries(String label, int left) {
            return new Known(label, state, left, limit, pin, key, notKey, pub, sealed, pending, pendingKey,
                    notPendingKey);
        }

        /** The same with a pending key: exactly pendingKey, or (null) any other than notPendingKey. */
        Known withPending(String label, byte[] exactly, byte[] notThis) {
            return new Known(label, state, tries, limit, pin, key, notKey, pub, sealed, true, exactly, notThis);
        }
    }

    /**
     * The card's state as read after power-up: SELECT, GET STATUS and the public record; the enc
     * SELECT's record header shows (empty unless ENROLLED); and the pending key if GET STATUS shows
     * one (revealed by making it active: see observe).
     */
    record View(int state, SimCard.Status status, byte[] pub, byte[] enc, byte[] pendingKey) {
        @Override
        public String toString() {
            return "state " + state + ", flags " + status.flags() + ", tries " + status.triesLeft() + "/"
                    + status.limit() + ", lengths " + status.publicLength() + "+" + status.sealedLength()
                    + ", key " + shortKey(status.publicKey())
                    + (status.keyPending() ? ", pending key " + shortKey(pendingKey) : "");
        }

        private static String shortKey(byte[] key) {
            return key == null ? "not revealed" : key.length == 0 ? "none" : SimCard.HEX.formatHex(key, 1, 9) + "..";
        }
    }

    private static SimCard freshCard() {
        return SimCard.installed(instrumented, SimCard.capacityParameters(CAPACITY));
    }

    private static View observe(SimCard card) {
        return observe(card, null);
    }

    /**
     * Powers the card up and reads it. If GET STATUS shows a pending key and pin is given, the
     * pending key is revealed: with the PIN, UNSEAL must answer with the active key; the record
     * just read is written again with PUT RECORD P1=01; then GET STATUS must show a new key with no
     * key pending, and UNSEAL must answer with the new key, no longer the old one. The card is
     * left with the same record, the former pending key active and the PIN validated.
     */
    private static View observe(SimCard card, String pin) {
        card.sim.reset();
        byte[] select = card.expect(0x9000, card.select()).getData();
        byte[] statusBytes = card.expect(0x9000, card.status()).getData();
        SimCard.Status status = new SimCard.Status(statusBytes);
        assertEquals(select[3], status.state(), "SELECT and GET STATUS disagree on the state");
        byte[] pub = new byte[0];
        byte[] enc = new byte[0];
        if (status.state() == 2) {
            pub = card.expect(0x9000, card.getRecord(0)).getData();
            enc = Arrays.copyOfRange(select, select.length - 64, select.length - 32);
        }
        // SELECT (1.3) shows GET STATUS, the committed record's header and its public digest, which
        // must be SHA-256 of the public part GET RECORD just returned (old record with old digest,
        // or new with new, after a cut anywhere); the enc needs the PIN
        byte[] expected = SimCard.selectAnswer(statusBytes, pub, enc);
        assertEquals(SimCard.HEX.formatHex(expected), SimCard.HEX.formatHex(select),
                "SELECT's status or record header is not the card's");
        byte[] pendingKey = null;
        if (status.keyPending() && pin != null && !status.blocked()) {
            assertEquals(2, status.state(), "a pending key on a card that is not ENROLLED");
            card.expect(0x9000, card.verify(pin));
            byte[] sealed = card.expect(0x9000, card.getRecord(1)).getData();
            byte[] generator = WeiMath.encode(WeiMath.G);
            byte[] oldX = Arrays.copyOfRange(status.publicKey(), 1, 33);
            assertArrayEquals(oldX, card.expect(0x9000, card.unseal(generator)).getData(),
                    "with a key pending, UNSEAL does not answer with the active key");
            card.expect(0x9000, card.putRecord(stream(pub, sealed), 200, 0x01));
            SimCard.Status renewed = card.parsedStatus();
            pendingKey = renewed.publicKey();
            assertFalse(renewed.keyPending(), "still a key pending after PUT RECORD P1=01");
            assertTrue(WeiMath.onCurve(WeiMath.decode(pendingKey)), "the pending key is not a point on the curve");
            byte[] newX = card.expect(0x9000, card.unseal(generator)).getData();
            assertArrayEquals(Arrays.copyOfRange(pendingKey, 1, 33), newX, "the pending key's d does not match its public key");
            assertFalse(Arrays.equals(oldX, newX), "the old key still answers after the renewal");
        }
        return new View(status.state(), status, pub, enc, pendingKey);
    }

    private static boolean matches(View v, Known k) {
        SimCard.Status s = v.status();
        if (v.state() != k.state()) {
            return false;
        }
        if (k.state() == 0) {
            return s.flags() == 0 && s.triesLeft() == 0 && s.limit() == 0 && s.publicKey().length == 0
                    && s.publicLength() == 0 && s.sealedLength() == 0;
        }
        boolean keyOk = k.key() != null ? Arrays.equals(k.key(), s.publicKey())
                : s.publicKey().length == 65 && WeiMath.onCurve(WeiMath.decode(s.publicKey()))
                        && !Arrays.equals(k.notKey(), s.publicKey());
        boolean recordOk = k.state() == 2
                ? Arrays.equals(k.pub(), v.pub()) && s.publicLength() == k.pub().length
                        && s.sealedLength() == k.sealed().length
                : s.publicLength() == 0 && s.sealedLength() == 0;
        boolean pendingOk = s.keyPending() == k.pending();
        if (k.pending()) {
            pendingOk = pendingOk && v.pendingKey() != null && (k.pendingKey() != null
                    ? Arrays.equals(k.pendingKey(), v.pendingKey())
                    : !Arrays.equals(k.notPendingKey(), v.pendingKey()) && !Arrays.equals(s.publicKey(), v.pendingKey()));
        }
        return keyOk && recordOk && pendingOk && s.triesLeft() == k.tries() && s.limit() == k.limit()
                && s.blocked() == (k.tries() == 0) && !s.validated();
    }

    /**
     * What only the PIN shows (validated by classify): the sealed part, and d matching the public
     * key (the key active now: after a reveal, the former pending key).
     */
    private static void checkBehindPin(SimCard card, View v, Known k) {
        if (k.state() == 0 || k.tries() == 0) {
            return;
        }
        if (k.state() == 2) {
            assertArrayEquals(k.sealed(), card.expect(0x9000, card.getRecord(1)).getData(), "sealed part");
            assertArrayEquals(Arrays.copyOf(k.sealed(), 32), v.enc(), "the enc in SELECT's record header");
            byte[] x = card.expect(0x9000, card.unseal(WeiMath.encode(WeiMath.G))).getData();
            assertArrayEquals(Arrays.copyOfRange(card.parsedStatus().publicKey(), 1, 33), x, "d * G is not the public key");
        }
    }

    /** From whatever state was found, the card can be brought to a working record again. */
    private static void provesUsable(SimCard card, Known k) {
        String pin = k.pin();
        if (k.state() != 0 && k.tries() == 0) {
            card.expect(0x9000, card.factoryReset());
        }
        if (k.state() == 0 || k.tries() == 0) {
            card.expect(0x9000, card.initialise(LIMIT, OTHER_PIN));
            pin = OTHER_PIN;
        }
        card.expect(0x9000, card.verify(pin));
        byte[] pub = bytes(300, 47);
        byte[] sealed = bytes(81, 48);
        card.expect(0x9000, card.putRecord(stream(pub, sealed), 97));
        card.resetAndSelect();
        assertArrayEquals(pub, card.expect(0x9000, card.getRecord(0)).getData());
        card.expect(0x9000, card.verify(pin));
        assertArrayEquals(sealed, card.expect(0x9000, card.getRecord(1)).getData());
        byte[] key = card.parsedStatus().publicKey();
        byte[] x = card.expect(0x9000, card.unseal(WeiMath.encode(WeiMath.G))).getData();
        assertArrayEquals(Arrays.copyOfRange(key, 1, 33), x, "d * G is not the public key");
        // and key renewal works: the key PREPARE KEY answers becomes the key at PUT RECORD P1=01
        byte[] pending = card.expect(0x9000, card.prepareKey()).getData();
        byte[] renewedPub = bytes(150, 49);
        card.expect(0x9000, card.putRecord(stream(renewedPub, sealed), 97, 0x01));
        SimCard.Status renewed = card.parsedStatus();
        assertArrayEquals(pending, renewed.publicKey(), "PUT RECORD P1=01 did not make the pending key active");
        assertFalse(renewed.keyPending());
        assertArrayEquals(Arrays.copyOfRange(pending, 1, 33),
                card.expect(0x9000, card.unseal(WeiMath.encode(WeiMath.G))).getData(), "d * G is not the renewed public key");
        assertArrayEquals(renewedPub, card.expect(0x9000, card.getRecord(0)).getData());
    }

    // ---------------------------------------------------------------- scenarios

    /** A card in the state before the command, and what a host knows of it (pending: its pending key). */
    record Before(SimCard card, byte[] key, byte[] pending) {
        Before(SimCard card, byte[] key) {
            this(card, key, null);
        }
    }

    /**
     * One command that writes: how to get a fresh card to the state before it, its APDUs (several
     * for a chain: the cuts run over all of them), the states a cut may leave ("old" ones first,
     * the first "new" one last) and the write documented as its commit point.
     */
    record Scenario(String name, Supplier<Before> setup, List<CommandAPDU> apdus, int finalSw,
                    Function<Before, List<Known>> olds,
                    Function<Before, Known> fresh, String commitSite) {
    }

    private static Before personalised(int wrongGuesses) {
        SimCard card = freshCard();
        byte[] key = card.expect(0x9000, card.initialise(LIMIT, PIN)).getData();
        for (int i = 0; i < wrongGuesses; i++) {
            card.expect(0x63C0 | (LIMIT - 1 - i), card.verify(WRONG_PIN));
        }
        return new Before(card, key);
    }

    private static Before enrolled(byte[]... records) {
        Before b = personalised(0);
        b.card().expect(0x9000, b.card().verify(PIN));
        for (int i = 0; i < records.length; i += 2) {
            b.card().expect(0x9000, b.card().putRecord(stream(records[i], records[i + 1]), 200));
        }
        return b;
    }

    /** An enrolled card (PIN validated) that has a pending key. */
    private static Before withPendingKey(byte[]... records) {
        Before b = enrolled(records);
        byte[] pending = b.card().expect(0x9000, b.card().prepareKey()).getData();
        return new Before(b.card(), b.key(), pending);
    }

    /** An enrolled card renewed once (its key is the second key slot's), then given a new pending key. */
    private static Before renewedWithPendingKey(byte[] pub, byte[] sealed) {
        Before b = withPendingKey(PUB_A, SEALED_A);
        b.card().expect(0x9000, b.card().putRecord(stream(pub, sealed), 200, 0x01));
        byte[] pending = b.card().expect(0x9000, b.card().prepareKey()).getData();
        return new Before(b.card(), b.pending(), pending);
    }

    private static Known blank() {
        return new Known("BLANK", 0, 0, 0, null, null, null, null, null);
    }

    private static Known pers(Before b, String pin, int tries) {
        return new Known("PERSONALISED", 1, tries, LIMIT, pin, b.key(), null, null, null);
    }

    private static Known enr(Before b, String pin, int tries, byte[] pub, byte[] sealed) {
        return new Known("ENROLLED", 2, tries, LIMIT, pin, b.key(), null, pub, sealed);
    }

    private static CommandAPDU verifyApdu(String pin) {
        return new CommandAPDU(0x00, 0x20, 0x00, 0x81, pinBlock(pin));
    }

    private static CommandAPDU changeApdu(String oldPin, String newPin) {
        byte[] data = new byte[24];
        System.arraycopy(pinBlock(oldPin), 0, data, 0, 12);
        System.arraycopy(pinBlock(newPin), 0, data, 12, 12);
        return new CommandAPDU(0x00, 0x24, 0x00, 0x81, data);
    }

    private static CommandAPDU initialiseApdu(String pin) {
        byte[] data = new byte[13];
        data[0] = (byte) LIMIT;
        System.arraycopy(pinBlock(pin), 0, data, 1, 12);
        return new CommandAPDU(0x80, 0x12, 0x00, 0x00, data, 256);
    }

    private static final CommandAPDU FACTORY_RESET = new CommandAPDU(0x80, 0x1E, 0xAA, 0x55);

    private static final CommandAPDU PREPARE_KEY = new CommandAPDU(0x80, 0x1C, 0x00, 0x00, 256);

    private static List<CommandAPDU> putRecordApdus(byte[] pub, byte[] sealed, int chunk) {
        return putRecordApdus(pub, sealed, chunk, 0x00);
    }

    private static List<CommandAPDU> putRecordApdus(byte[] pub, byte[] sealed, int chunk, int p1) {
        byte[] s = stream(pub, sealed);
        List<CommandAPDU> apdus = new ArrayList<>();
        for (int off = 0; off < s.length; off += chunk) {
            int end = Math.min(s.length, off + chunk);
            apdus.add(new CommandAPDU(end == s.length ? 0x80 : 0x90, 0x14, p1, 0x00, Arrays.copyOfRange(s, off, end)));
        }
        return apdus;
    }

    /** PUT RECORD in extended APDUs (1.4): pieces of at most chunk bytes, each one extended APDU. */
    private static List<CommandAPDU> extendedPutRecordApdus(byte[] pub, byte[] sealed, int chunk, int p1) {
        byte[] s = stream(pub, sealed);
        List<CommandAPDU> apdus = new ArrayList<>();
        for (int off = 0; off < s.length; off += chunk) {
            int end = Math.min(s.length, off + chunk);
            apdus.add(new CommandAPDU(ExtendedLengthTest.putExtended(end == s.length ? 0x80 : 0x90, p1,
                    Arrays.copyOfRange(s, off, end))));
        }
        return apdus;
    }

    /** The PUT RECORD scenarios with extended APDUs (1.4): the whole stream in one APDU, or a chain. */
    private static List<Scenario> extendedScenarios() {
        List<Scenario> list = new ArrayList<>();
        list.add(new Scenario("PUT RECORD, first record, one extended APDU", () -> {
            Before b = personalised(0);
            b.card().expect(0x9000, b.card().verify(PIN));
            return b;
        }, extendedPutRecordApdus(PUB_B, SEALED_B, 4096, 0x00), 0x9000, b -> List.of(pers(b, PIN, LIMIT)),
                b -> enr(b, PIN, LIMIT, PUB_B, SEALED_B), "RecordStore.commit"));
        list.add(new Scenario("PUT RECORD, replacement, one extended APDU (into slot 0)",
                () -> enrolled(PUB_A, SEALED_A, PUB_C, SEALED_C), extendedPutRecordApdus(PUB_B, SEALED_B, 4096, 0x00),
                0x9000, b -> List.of(enr(b, PIN, LIMIT, PUB_C, SEALED_C)), b -> enr(b, PIN, LIMIT, PUB_B, SEALED_B),
                "RecordStore.commit"));
        list.add(new Scenario("PUT RECORD, replacement, chain of 2 extended APDUs (into slot 1)",
                () -> enrolled(PUB_A, SEALED_A), extendedPutRecordApdus(PUB_B, SEALED_B, 300, 0x00), 0x9000,
                b -> List.of(enr(b, PIN, LIMIT, PUB_A, SEALED_A)), b -> enr(b, PIN, LIMIT, PUB_B, SEALED_B),
                "RecordStore.commit"));
        list.add(new Scenario("PUT RECORD P1=01, one extended APDU (record slot 1, key slot 1)",
                () -> withPendingKey(PUB_A, SEALED_A), extendedPutRecordApdus(PUB_B, SEALED_B, 4096, 0x01), 0x9000,
                b -> List.of(enr(b, PIN, LIMIT, PUB_A, SEALED_A).withPending("ENROLLED A, old key, key pending", b.pending(), null)),
                b -> new Known("ENROLLED B, new key", 2, LIMIT, LIMIT, PIN, b.pending(), null, PUB_B, SEALED_B),
                "RecordStore.commit"));
        return list;
    }

    private static List<Scenario> scenarios() {
        List<Scenario> list = new ArrayList<>();
        Known newPersonalised = new Known("PERSONALISED (new)", 1, LIMIT, LIMIT, NEW_PIN, null, null, null, null);
        list.add(new Scenario("INITIALISE, new card", () -> new Before(freshCard(), null),
                List.of(initialiseApdu(NEW_PIN)), 0x9000, b -> List.of(blank()), b -> newPersonalised,
                "RecordStore.commit"));
        list.add(new Scenario("INITIALISE after FACTORY RESET of an enrolled card", () -> {
            Before b = enrolled(PUB_B, SEALED_B, PUB_A, SEALED_A);
            b.card().expect(0x9000, b.card().changePin(PIN, OTHER_PIN));
            b.card().expect(0x9000, b.card().factoryReset());
            return new Before(b.card(), b.key());
        }, List.of(initialiseApdu(NEW_PIN)), 0x9000, b -> List.of(blank()),
                b -> new Known("PERSONALISED (new)", 1, LIMIT, LIMIT, NEW_PIN, null, b.key(), null, null),
                "RecordStore.commit"));
        list.add(new Scenario("VERIFY right PIN after two wrong", () -> personalised(2),
                List.of(verifyApdu(PIN)), 0x9000,
                b -> List.of(pers(b, PIN, LIMIT - 2), pers(b, PIN, LIMIT - 3).withTries("try spent", LIMIT - 3)),
                b -> pers(b, PIN, LIMIT), "Pin.triesLeft"));
        list.add(new Scenario("VERIFY wrong PIN", () -> personalised(0), List.of(verifyApdu(WRONG_PIN)),
                0x63C0 | (LIMIT - 1), b -> List.of(pers(b, PIN, LIMIT)), b -> pers(b, PIN, LIMIT - 1), "Pin.triesLeft"));
        list.add(new Scenario("VERIFY wrong PIN, last try (blocks)", () -> personalised(LIMIT - 1),
                List.of(verifyApdu(WRONG_PIN)), 0x63C0, b -> List.of(pers(b, PIN, 1)), b -> pers(b, PIN, 0),
                "Pin.triesLeft"));
        list.add(new Scenario("CHANGE REFERENCE DATA", () -> personalised(1), List.of(changeApdu(PIN, NEW_PIN)),
                0x9000, b -> List.of(pers(b, PIN, LIMIT - 1), pers(b, PIN, LIMIT - 2), pers(b, PIN, LIMIT)),
                b -> pers(b, NEW_PIN, LIMIT), "Pin.current"));
        list.add(new Scenario("CHANGE REFERENCE DATA, second change", () -> {
            Before b = enrolled(PUB_A, SEALED_A);
            b.card().expect(0x9000, b.card().changePin(PIN, OTHER_PIN));
            return b;
        }, List.of(changeApdu(OTHER_PIN, NEW_PIN)), 0x9000,
                b -> List.of(enr(b, OTHER_PIN, LIMIT, PUB_A, SEALED_A), enr(b, OTHER_PIN, LIMIT - 1, PUB_A, SEALED_A)),
                b -> enr(b, NEW_PIN, LIMIT, PUB_A, SEALED_A), "Pin.current"));
        list.add(new Scenario("CHANGE REFERENCE DATA, wrong old PIN", () -> personalised(0),
                List.of(changeApdu(WRONG_PIN, NEW_PIN)), 0x63C0 | (LIMIT - 1), b -> List.of(pers(b, PIN, LIMIT)),
                b -> pers(b, PIN, LIMIT - 1), "Pin.triesLeft"));
        list.add(new Scenario("PUT RECORD, first record, one APDU", () -> {
            Before b = personalised(0);
            b.card().expect(0x9000, b.card().verify(PIN));
            return b;
        }, putRecordApdus(PUB_A, SEALED_A, 255), 0x9000, b -> List.of(pers(b, PIN, LIMIT)),
                b -> enr(b, PIN, LIMIT, PUB_A, SEALED_A), "RecordStore.commit"));
        list.add(new Scenario("PUT RECORD, replacement, chain of 4 APDUs (into slot 1)", () -> enrolled(PUB_A, SEALED_A),
                putRecordApdus(PUB_B, SEALED_B, 130), 0x9000, b -> List.of(enr(b, PIN, LIMIT, PUB_A, SEALED_A)),
                b -> enr(b, PIN, LIMIT, PUB_B, SEALED_B), "RecordStore.commit"));
        list.add(new Scenario("PUT RECORD, replacement, chain of 2 APDUs (into slot 0)",
                () -> enrolled(PUB_A, SEALED_A, PUB_B, SEALED_B), putRecordApdus(PUB_C, SEALED_C, 200), 0x9000,
                b -> List.of(enr(b, PIN, LIMIT, PUB_B, SEALED_B)), b -> enr(b, PIN, LIMIT, PUB_C, SEALED_C),
                "RecordStore.commit"));
        list.add(new Scenario("FACTORY RESET, enrolled card", () -> enrolled(PUB_A, SEALED_A), List.of(FACTORY_RESET),
                0x9000, b -> List.of(enr(b, PIN, LIMIT, PUB_A, SEALED_A)), b -> blank(), "RecordStore.commit"));
        list.add(new Scenario("FACTORY RESET, blocked card", () -> {
            Before b = enrolled(PUB_A, SEALED_A);
            for (int i = 0; i < LIMIT; i++) {
                b.card().verify(WRONG_PIN);
            }
            return b;
        }, List.of(FACTORY_RESET), 0x9000, b -> List.of(enr(b, PIN, 0, PUB_A, SEALED_A)), b -> blank(),
                "RecordStore.commit"));
        // key renewal (protocol 1.1): old key and record (a pending key or not), or new key and record
        list.add(new Scenario("PREPARE KEY, no key pending", () -> enrolled(PUB_A, SEALED_A), List.of(PREPARE_KEY),
                0x9000, b -> List.of(enr(b, PIN, LIMIT, PUB_A, SEALED_A)),
                b -> enr(b, PIN, LIMIT, PUB_A, SEALED_A).withPending("ENROLLED, new pending key", null, null),
                "RecordStore.commit"));
        list.add(new Scenario("PREPARE KEY, replacing a pending key", () -> withPendingKey(PUB_A, SEALED_A),
                List.of(PREPARE_KEY), 0x9000,
                b -> List.of(enr(b, PIN, LIMIT, PUB_A, SEALED_A).withPending("ENROLLED, first pending key", b.pending(), null),
                        enr(b, PIN, LIMIT, PUB_A, SEALED_A).withTries("ENROLLED, no key pending", LIMIT)),
                b -> enr(b, PIN, LIMIT, PUB_A, SEALED_A).withPending("ENROLLED, second pending key", null, b.pending()),
                "RecordStore.commit"));
        list.add(new Scenario("PREPARE KEY, after a renewal (into key slot 0)", () -> renewedWithPendingKey(PUB_B, SEALED_B),
                List.of(PREPARE_KEY), 0x9000,
                b -> List.of(enr(b, PIN, LIMIT, PUB_B, SEALED_B).withPending("ENROLLED, first pending key", b.pending(), null),
                        enr(b, PIN, LIMIT, PUB_B, SEALED_B).withTries("ENROLLED, no key pending", LIMIT)),
                b -> enr(b, PIN, LIMIT, PUB_B, SEALED_B).withPending("ENROLLED, second pending key", null, b.pending()),
                "RecordStore.commit"));
        list.add(new Scenario("PUT RECORD P1=01, chain of 4 APDUs (record slot 1, key slot 1)",
                () -> withPendingKey(PUB_A, SEALED_A), putRecordApdus(PUB_B, SEALED_B, 130, 0x01), 0x9000,
                b -> List.of(enr(b, PIN, LIMIT, PUB_A, SEALED_A).withPending("ENROLLED A, old key, key pending", b.pending(), null)),
                b -> new Known("ENROLLED B, new key", 2, LIMIT, LIMIT, PIN, b.pending(), null, PUB_B, SEALED_B),
                "RecordStore.commit"));
        list.add(new Scenario("PUT RECORD P1=01, one APDU (record slot 0, key slot 0)",
                () -> renewedWithPendingKey(PUB_B, SEALED_B), putRecordApdus(PUB_C, SEALED_C, 255, 0x01), 0x9000,
                b -> List.of(enr(b, PIN, LIMIT, PUB_B, SEALED_B).withPending("ENROLLED B, old key, key pending", b.pending(), null)),
                b -> new Known("ENROLLED C, new key", 2, LIMIT, LIMIT, PIN, b.pending(), null, PUB_C, SEALED_C),
                "RecordStore.commit"));
        list.add(new Scenario("PUT RECORD P1=00 with a key pending (it stays pending)",
                () -> withPendingKey(PUB_A, SEALED_A), putRecordApdus(PUB_B, SEALED_B, 200), 0x9000,
                b -> List.of(enr(b, PIN, LIMIT, PUB_A, SEALED_A).withPending("ENROLLED A, key pending", b.pending(), null)),
                b -> enr(b, PIN, LIMIT, PUB_B, SEALED_B).withPending("ENROLLED B, key pending", b.pending(), null),
                "RecordStore.commit"));
        list.add(new Scenario("FACTORY RESET, card with a key pending", () -> withPendingKey(PUB_A, SEALED_A),
                List.of(FACTORY_RESET), 0x9000,
                b -> List.of(enr(b, PIN, LIMIT, PUB_A, SEALED_A).withPending("ENROLLED, key pending", b.pending(), null)),
                b -> blank(), "RecordStore.commit"));
        list.addAll(extendedScenarios());
        return list;
    }

    // ---------------------------------------------------------------- running the cuts

    /** Sends the APDUs with the injector armed; returns the last response (null if the power was cut). */
    private static ResponseAPDU run(SimCard card, List<CommandAPDU> apdus) {
        ResponseAPDU last = null;
        for (CommandAPDU apdu : apdus) {
            last = card.transmit(apdu);
            if (FaultInjector.powerLost()) {
                return null;
            }
            if (last.getSW() != 0x9000) {
                break;
            }
        }
        return last;
    }

    /**
     * Finds which allowed state the card is in: index into olds, or olds.size() for the new state.
     * States that look alike differ in their PIN: the candidates' PINs are tried in turn (a wrong
     * one costs a try, which every candidate can afford), and the one that works decides. Leaves
     * the PIN validated when the card has one that is not blocked.
     */
    private static int classify(String where, SimCard card, View v, List<Known> olds, Known fresh) {
        List<Known> all = new ArrayList<>(olds);
        all.add(fresh);
        List<Integer> candidates = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            if (matches(v, all.get(i))) {
                candidates.add(i);
            }
        }
        if (candidates.isEmpty()) {
            fail(where + ": a mixed state: " + v + "; allowed: old " + olds.stream().map(Known::name).toList()
                    + " or new " + fresh.name());
        }
        Known first = all.get(candidates.get(0));
        if (first.state() == 0 || first.tries() == 0) {
            return candidates.get(0);
        }
        List<String> tried = new ArrayList<>();
        for (int i : candidates) {
            String pin = all.get(i).pin();
            if (tried.contains(pin)) {
                continue;
            }
            tried.add(pin);
            if (card.verify(pin).getSW() == 0x9000) {
                return i;
            }
        }
        fail(where + ": " + v + " but none of the PINs " + tried + " works: a mixed PIN");
        return -1;
    }

    /** Runs one scenario with a cut at every injection point; returns the number of points. */
    private static int tearEverywhere(Scenario s, StringBuilder report) {
        Before probe = s.setup().get();
        FaultInjector.count();
        ResponseAPDU done = run(probe.card(), s.apdus());
        List<String> trace = FaultInjector.trace();
        int points = FaultInjector.disarm();
        assertEquals(String.format("%04X", s.finalSw()), String.format("%04X", done.getSW()), s.name());
        assertTrue(points > 0, s.name() + ": no persistent write was seen: is the instrumentation working?");
        assertEquals(s.olds().apply(probe).size(), classify(s.name() + ", no cut", probe.card(),
                observe(probe.card(), PIN), s.olds().apply(probe), s.fresh().apply(probe)), s.name() + ": the completed command");

        int firstNew = -1;
        for (int k = 1; k <= points + 1; k++) {
            Before b = s.setup().get();
            FaultInjector.arm(k);
            ResponseAPDU r = run(b.card(), s.apdus());
            boolean cut = FaultInjector.powerLost();
            FaultInjector.disarm();
            assertEquals(k <= points, cut, s.name() + ": cut " + k + " of " + points);
            if (!cut) {
                assertEquals(s.finalSw(), r.getSW(), s.name() + ": uncut run");
            }
            String where = s.name() + ", cut before point " + k + (cut ? " (" + trace.get(k - 1) + ")" : "");
            List<Known> olds = s.olds().apply(b);
            Known fresh = s.fresh().apply(b);
            int index;
            try {
                View v = observe(b.card(), PIN);
                index = classify(where, b.card(), v, olds, fresh);
                Known found = index < olds.size() ? olds.get(index) : fresh;
                checkBehindPin(b.card(), v, found);
                provesUsable(b.card(), found);
            } catch (AssertionError e) {
                throw withContext(where, e);
            }
            boolean isNew = index == olds.size();
            if (isNew && firstNew < 0) {
                firstNew = k;
            }
            assertTrue(isNew || firstNew < 0, where + ": back to the old state after the new one was seen at point " + firstNew);
        }
        assertTrue(firstNew > 1, s.name() + ": never showed the new state after a cut, or showed it before any write");
        String commit = trace.get(firstNew - 2);
        assertTrue(commit.contains(s.commitSite() + " ="), s.name() + ": the state changed at " + commit
                + ", not at the documented commit point " + s.commitSite());
        report.append(String.format("%-58s %3d points, commit at point %2d: %s%n", s.name(), points, firstNew - 1, commit));
        for (int i = 0; i < trace.size(); i++) {
            report.append(String.format("      %2d %s%n", i + 1, trace.get(i)));
        }
        return points;
    }

    /**
     * Commands that only read, and commands refused before they act (a malformed PIN block costs
     * no try), write nothing persistent: nothing to tear, and no EEPROM wear.
     */
    @Test
    void readingAndRefusedCommandsWriteNothing() {
        Before b = enrolled(bytes(420, 49), SEALED_A);
        SimCard card = b.card();
        byte[] malformed = SimCard.HEX.parseHex("3132333435FFFFFFFFFFFFFF");
        byte[] twoMalformed = new byte[24];
        System.arraycopy(malformed, 0, twoMalformed, 0, 12);
        System.arraycopy(pinBlock(NEW_PIN), 0, twoMalformed, 12, 12);
        List<CommandAPDU> commands = List.of(
                new CommandAPDU(0x00, 0xA4, 0x04, 0x00, SimCard.AID_BYTES, 256),
                new CommandAPDU(0x80, 0x10, 0x00, 0x00, 256),
                new CommandAPDU(0x80, 0x16, 0x00, 0x00, 256),
                new CommandAPDU(0x00, 0xC0, 0x00, 0x00, 256),
                new CommandAPDU(0x00, 0xC0, 0x00, 0x00, 256),
                new CommandAPDU(0x00, 0x20, 0x00, 0x81),
                new CommandAPDU(0x00, 0x20, 0x00, 0x81, malformed),
                new CommandAPDU(0x00, 0x24, 0x00, 0x81, twoMalformed),
                new CommandAPDU(0x80, 0x16, 0x01, 0x00, 256),
                new CommandAPDU(0x80, 0x18, 0x00, 0x00, WeiMath.encode(WeiMath.G), 256),
                initialiseApdu(NEW_PIN),
                new CommandAPDU(0x80, 0x14, 0x00, 0x00, stream(PUB_A, SEALED_A)),
                new CommandAPDU(0x80, 0x14, 0x01, 0x00, stream(PUB_A, SEALED_A)),
                PREPARE_KEY,
                new CommandAPDU(0x80, 0x1E, 0x00, 0x00),
                new CommandAPDU(0x84, 0x10, 0x00, 0x00, 256),
                verifyApdu(PIN),
                new CommandAPDU(0x80, 0x16, 0x01, 0x00, 256),
                new CommandAPDU(0x80, 0x18, 0x00, 0x00, WeiMath.encode(WeiMath.G), 256),
                new CommandAPDU(0x80, 0x14, 0x01, 0x00, stream(PUB_A, SEALED_A)),
                new CommandAPDU(0x80, 0x1C, 0x01, 0x00, 256),
                new CommandAPDU(0x80, 0x1C, 0x00, 0x00, new byte[1], 256),
                new CommandAPDU(0x90, 0x1C, 0x00, 0x00, 256),
                new CommandAPDU(0x00, 0x20, 0xFF, 0x81));
        int[] expected = {0x9000, 0x9000, 0x61A4, 0x9000, 0x6985, 0x63C5, 0x6A80, 0x6A80, 0x6982, 0x6982, 0x6985,
            0x6982, 0x6985, 0x6982, 0x6A86, 0x6E00, -1, 0x9000, 0x9000, 0x6985, 0x6A86, 0x6700, 0x6884, 0x9000};
        for (int i = 0; i < commands.size(); i++) {
            CommandAPDU c = commands.get(i);
            if (expected[i] < 0) {
                card.expect(0x9000, card.transmit(c)); // the VERIFY between: it writes the counter
                continue;
            }
            FaultInjector.count();
            ResponseAPDU r = card.transmit(c);
            List<String> writes = FaultInjector.trace();
            FaultInjector.disarm();
            card.expect(expected[i], r);
            assertEquals(List.of(), writes, SimCard.HEX.formatHex(c.getBytes()) + " wrote to EEPROM");
        }
    }

    /**
     * Two cuts in a row: FACTORY RESET of a card with a key pending (both key slots hold a key) cut
     * at any write, then the INITIALISE that follows cut at any write (once the cut reset reports
     * BLANK). The card must be BLANK or personalised with the new key and PIN and no key pending,
     * never a mix of what the reset left and what INITIALISE wrote.
     */
    @Test
    void cutFactoryResetThenCutInitialise() {
        int resetPoints = countPoints(withPendingKey(PUB_A, SEALED_A), List.of(FACTORY_RESET));
        int runs = 0;
        for (int k1 = 1; k1 <= resetPoints; k1++) {
            int initPoints = -1;
            for (int k2 = 1; initPoints < 0 || k2 <= initPoints + 1; k2++) {
                Before b = withPendingKey(PUB_A, SEALED_A);
                FaultInjector.arm(k1);
                run(b.card(), List.of(FACTORY_RESET));
                assertTrue(FaultInjector.powerLost());
                FaultInjector.disarm();
                b.card().sim.reset();
                if (b.card().expect(0x9000, b.card().select()).getData()[3] != 0) {
                    break; // the reset did not get to its commit: the single-cut test covers that
                }
                if (initPoints < 0) {
                    FaultInjector.count();
                    ResponseAPDU r = run(b.card(), List.of(initialiseApdu(NEW_PIN)));
                    initPoints = FaultInjector.disarm();
                    assertEquals(0x9000, r.getSW(), "INITIALISE after FACTORY RESET cut before point " + k1);
                    continue;
                }
                FaultInjector.arm(k2);
                run(b.card(), List.of(initialiseApdu(NEW_PIN)));
                boolean cut = FaultInjector.powerLost();
                FaultInjector.disarm();
                runs++;
                String where = "FACTORY RESET cut before point " + k1 + ", INITIALISE cut before point " + k2;
                assertEquals(k2 <= initPoints, cut, where);
                Known fresh = new Known("PERSONALISED (new)", 1, LIMIT, LIMIT, NEW_PIN, null, b.key(), null, null);
                try {
                    View v = observe(b.card());
                    int index = classify(where, b.card(), v, List.of(blank()), fresh);
                    assertTrue(cut || index == 1, where + ": the completed INITIALISE did not personalise");
                    if (!cut) {
                        // nothing of the reset card's pending key survives as a pending key
                        b.card().expect(0x9000, b.card().putRecord(stream(PUB_A, SEALED_A), 200));
                        b.card().expect(0x6985, b.card().putRecord(stream(PUB_B, SEALED_B), 200, 0x01));
                        provesUsable(b.card(), fresh);
                    }
                } catch (AssertionError e) {
                    throw withContext(where, e);
                }
            }
        }
        System.out.printf("Tearing: FACTORY RESET cut at each of %d points, then INITIALISE cut at each of its points: %d runs%n",
                resetPoints, runs);
    }

    /**
     * No record byte outlives a wipe however the writes were cut: a replacement record's chain cut
     * at each of its writes, or a FACTORY RESET cut at each of its writes after the commit point,
     * then a FACTORY RESET run to its end leaves both slots and both public digests all zero (the
     * used extents cover every byte a cut chain or a cut wipe left).
     */
    @Test
    void noRecordByteOutlivesAWipeAfterACutAnywhere() throws ReflectiveOperationException {
        List<CommandAPDU> replace = putRecordApdus(PUB_B, SEALED_B, 120);
        int chainPoints = countPoints(enrolled(PUB_A, SEALED_A), replace);
        int resetPoints = countPoints(enrolled(PUB_A, SEALED_A, PUB_C, SEALED_C), List.of(FACTORY_RESET));
        int runs = 0;
        for (int k = 1; k <= chainPoints + resetPoints; k++) {
            boolean inChain = k <= chainPoints;
            Before b = inChain ? enrolled(PUB_A, SEALED_A) : enrolled(PUB_A, SEALED_A, PUB_C, SEALED_C);
            FaultInjector.arm(inChain ? k : k - chainPoints);
            run(b.card(), inChain ? replace : List.of(FACTORY_RESET));
            assertTrue(FaultInjector.powerLost(), "cut " + k);
            FaultInjector.disarm();
            b.card().sim.reset();
            b.card().expect(0x9000, b.card().select());
            b.card().expect(0x9000, b.card().factoryReset());
            assertTrue(WipeTest.zeroed(WipeTest.slots(b.card())),
                    (inChain ? "PUT RECORD" : "FACTORY RESET") + " cut before point "
                            + (inChain ? k : k - chainPoints) + ": a record byte outlived the wipe");
            assertArrayEquals(new byte[64], WipeTest.digests(b.card()),
                    (inChain ? "PUT RECORD" : "FACTORY RESET") + " cut before point "
                            + (inChain ? k : k - chainPoints) + ": a public digest outlived the wipe");
            runs++;
        }
        System.out.printf("Tearing: %d cuts of a record chain or a reset, each wiped afterwards: no record byte or public digest left%n",
                runs);
    }

    private static AssertionError withContext(String where, AssertionError e) {
        String message = String.valueOf(e.getMessage());
        return message.startsWith(where) ? e : new AssertionError(where + ": " + message, e);
    }

    private static int countPoints(Before b, List<CommandAPDU> apdus) {
        FaultInjector.count();
        run(b.card(), apdus);
        return FaultInjector.disarm();
    }

    @Test
    void everyWritingCommandShowsOldOrNewStateAfterACutAtAnyWrite() {
        StringBuilder report = new StringBuilder("Tearing: persistent writes per command (points where the power was cut)\n");
        int total = 0;
        int runs = 0;
        for (Scenario s : scenarios()) {
            int points = tearEverywhere(s, report);
            total += points;
            runs += points + 1;
        }
        report.append(String.format("Tearing: %d scenarios, %d injection points, %d cut-and-recover runs%n",
                scenarios().size(), total, runs));
        System.out.print(report);
    }

    /**
     * The extended PUT RECORD scenarios again on the tearing build that receives in 32-byte chunks
     * of a 261-byte buffer (as a real card whose buffer cannot hold the data field): each chunk is
     * staged as it arrives, so there are many more staging writes to cut, with the same guarantee.
     */
    @Test
    void extendedPutRecordReceivedInChunksShowsOldOrNewStateAfterACutAtAnyWrite() {
        StringBuilder report = new StringBuilder("Tearing, extended PUT RECORD received in 32-byte chunks\n");
        SmallBuffer.configure(261, 32);
        instrumented = tearingSmallBuffer;
        int total = 0;
        for (Scenario s : extendedScenarios()) {
            total += tearEverywhere(s, report);
        }
        assertTrue(SmallBuffer.mostCallsPerApdu() > 10, "the data field was not received in chunks");
        report.append(String.format("Tearing (chunked): %d scenarios, %d injection points%n", extendedScenarios().size(), total));
        System.out.print(report);
    }
}

package dev.quorum.applet;

import static dev.quorum.applet.SimCard.PIN;
import static dev.quorum.applet.SimCard.bytes;
import static dev.quorum.applet.SimCard.stream;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.licel.jcardsim.base.Simulator;
import com.licel.jcardsim.base.SimulatorRuntime;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.Arrays;
import javacard.framework.AID;
import javacard.framework.Applet;
import org.junit.jupiter.api.Test;

/**
 * INITIALISE and FACTORY RESET zero only what records used (record store's used extents),
 * leaving no byte of any record, committed or only staged, behind. The tests look into the
 * applet's EEPROM image: the two record slots. To show what a wipe wrote, the bytes of a slot
 * beyond its used extent are filled with a canary first; a wipe that touched them would zero it.
 */
class WipeTest {

    private static final int CAPACITY = 2048;
    private static final byte CANARY = (byte) 0x5A;
    private static final byte[] PUB = bytes(300, 71);
    private static final byte[] SEALED = bytes(81, 72);
    private static final byte[] PUB_LONGER = bytes(700, 73);

    /** The applet's record store object, read through jcardsim's runtime and the applet's field. */
    static Object storeObject(SimCard card) throws ReflectiveOperationException {
        Field runtimeField = Simulator.class.getDeclaredField("runtime");
        runtimeField.setAccessible(true);
        SimulatorRuntime runtime = (SimulatorRuntime) runtimeField.get(card.sim);
        Method getApplet = SimulatorRuntime.class.getDeclaredMethod("getApplet", AID.class);
        getApplet.setAccessible(true);
        Applet applet = (Applet) getApplet.invoke(runtime, SimCard.APPLET_AID);
        Field storeField = applet.getClass().getDeclaredField("store");
        storeField.setAccessible(true);
        return storeField.get(applet);
    }

    private static RecordStore store(SimCard card) throws ReflectiveOperationException {
        return (RecordStore) storeObject(card);
    }

    /**
     * The two record slots of any card, also one whose applet classes came from another class
     * loader (TearingTest's instrumented build), where RecordStore is another class.
     */
    static byte[][] slots(SimCard card) throws ReflectiveOperationException {
        Object store = storeObject(card);
        byte[][] slots = new byte[2][];
        for (int i = 0; i < 2; i++) {
            Field slot = store.getClass().getDeclaredField("slot" + i);
            slot.setAccessible(true);
            slots[i] = (byte[]) slot.get(store);
        }
        return slots;
    }

    /**
     * Both slots' public digests (one array, 32 bytes a slot), also of a card whose applet
     * classes came from another class loader.
     */
    static byte[] digests(SimCard card) throws ReflectiveOperationException {
        Object store = storeObject(card);
        Field digests = store.getClass().getDeclaredField("digests");
        digests.setAccessible(true);
        return (byte[]) digests.get(store);
    }

    /** Whether every byte of both slots is zero. */
    static boolean zeroed(byte[][] slots) {
        for (byte[] slot : slots) {
            for (byte b : slot) {
                if (b != 0) {
                    return false;
                }
            }
        }
        return true;
    }

    /** An enrolled card with a PUB/SEALED record in slot 0, PIN validated. */
    private static SimCard enrolled() {
        SimCard card = SimCard.withParameters(SimCard.capacityParameters(CAPACITY));
        card.initialise(SimCard.LIMIT, PIN);
        card.expect(0x9000, card.verify(PIN));
        card.expect(0x9000, card.putRecord(stream(PUB, SEALED), 255));
        return card;
    }

    /** A record staged into the spare slot and never committed: the chain ends with a reselect. */
    private static void stageWithoutCommit(SimCard card, byte[] record, int apdus) {
        for (int i = 0; i < apdus; i++) {
            byte[] part = Arrays.copyOfRange(record, i * 255, (i + 1) * 255);
            card.expect(0x9000, card.send(0x90, 0x14, 0x00, 0x00, part));
        }
        card.resetAndSelect();
    }

    private static void fillBeyond(byte[] slot, int from) {
        Arrays.fill(slot, from, slot.length, CANARY);
    }

    private static int count(byte[] slot, int from, int to, byte value) {
        int n = 0;
        for (int i = from; i < to; i++) {
            n += slot[i] == value ? 1 : 0;
        }
        return n;
    }

    @Test
    void factoryResetZeroesCommittedAndStagedRecordsAndWritesNothingBeyond() throws Exception {
        SimCard card = enrolled();
        int committed = 4 + PUB.length + SEALED.length;
        byte[] longer = stream(PUB_LONGER, SEALED);
        // Three APDUs of a longer record into slot 1: 765 bytes staged, the chain dropped.
        stageWithoutCommit(card, longer, 3);
        RecordStore store = store(card);
        int used0 = store.usedLength((byte) 0);
        int used1 = store.usedLength((byte) 1);
        // The extents are what the records announced (the stream less its 4-byte header).
        assertEquals(committed - 4, used0);
        assertEquals(longer.length - 4, used1);
        byte[] slot0 = store.slot((byte) 0);
        byte[] slot1 = store.slot((byte) 1);
        assertEquals(PUB[0], slot0[0], "the committed record is in slot 0");
        assertEquals(PUB_LONGER[0], slot1[0], "the staged part is in slot 1");
        fillBeyond(slot0, used0);
        fillBeyond(slot1, used1);

        card.expect(0x9000, card.factoryReset());

        // (a) no byte of either record is left: the used parts are all zero
        assertEquals(used0, count(slot0, 0, used0, (byte) 0), "slot 0's record is zeroed");
        assertEquals(used1, count(slot1, 0, used1, (byte) 0), "slot 1's staged bytes are zeroed");
        // (b) and nothing beyond them was written: the canaries are intact
        assertEquals(CAPACITY - used0, count(slot0, used0, CAPACITY, CANARY));
        assertEquals(CAPACITY - used1, count(slot1, used1, CAPACITY, CANARY));
        assertEquals(0, store.usedLength((byte) 0));
        assertEquals(0, store.usedLength((byte) 1));
    }

    /**
     * Both slots' public digests are written by PUT RECORD (slot 0, then slot 1) and zeroed by
     * FACTORY RESET, and by INITIALISE after a reset cut off after its commit point.
     */
    @Test
    void factoryResetAndInitialiseZeroBothDigests() throws Exception {
        SimCard card = enrolled();
        card.expect(0x9000, card.putRecord(stream(PUB_LONGER, SEALED), 255));
        byte[] digests = digests(card);
        assertEquals(64, digests.length);
        assertArrayEquals(SimCard.sha256(PUB), Arrays.copyOfRange(digests, 0, 32), "slot 0's digest");
        assertArrayEquals(SimCard.sha256(PUB_LONGER), Arrays.copyOfRange(digests, 32, 64), "slot 1's digest");
        card.expect(0x9000, card.factoryReset());
        assertArrayEquals(new byte[64], digests, "FACTORY RESET zeroes both digests");

        card = enrolled();
        card.expect(0x9000, card.putRecord(stream(PUB_LONGER, SEALED), 255));
        store(card).commitBlank();
        digests = digests(card);
        card.expect(0x9000, card.initialise(SimCard.LIMIT, PIN));
        assertArrayEquals(new byte[64], digests, "INITIALISE zeroes both digests");
    }

    @Test
    void aSecondRecordInTheSameSlotKeepsTheLargerExtent() throws Exception {
        SimCard card = enrolled();
        // slot 1: a long record, then slot 0: a short one, then slot 1 again: the short one.
        card.expect(0x9000, card.putRecord(stream(PUB_LONGER, SEALED), 255));
        card.expect(0x9000, card.putRecord(stream(PUB, SEALED), 255));
        card.expect(0x9000, card.putRecord(stream(PUB, SEALED), 255));
        RecordStore store = store(card);
        assertEquals(PUB.length + SEALED.length, store.usedLength((byte) 0));
        assertEquals(PUB_LONGER.length + SEALED.length, store.usedLength((byte) 1),
                "the tail of the longer record is still there and still counted");
        byte[] slot1 = store.slot((byte) 1);
        int tail = PUB.length + SEALED.length;
        assertEquals(PUB_LONGER[tail], slot1[tail], "the longer record's tail survived the shorter one");
        card.expect(0x9000, card.factoryReset());
        assertEquals(CAPACITY, count(slot1, 0, CAPACITY, (byte) 0));
    }

    @Test
    void initialiseOfAFreshOrResetCardWritesNoRecordByte() throws Exception {
        SimCard card = SimCard.withParameters(SimCard.capacityParameters(CAPACITY));
        RecordStore store = store(card);
        fillBeyond(store.slot((byte) 0), 0);
        fillBeyond(store.slot((byte) 1), 0);
        card.expect(0x9000, card.initialise(SimCard.LIMIT, PIN));
        assertEquals(CAPACITY, count(store.slot((byte) 0), 0, CAPACITY, CANARY));
        assertEquals(CAPACITY, count(store.slot((byte) 1), 0, CAPACITY, CANARY));
    }

    @Test
    void initialiseAfterAnInterruptedWipeFinishesIt() throws Exception {
        // A FACTORY RESET cut off after its commit point leaves BLANK with the extents set; here
        // the commit byte goes BLANK directly, as the reset's first write would.
        SimCard card = enrolled();
        RecordStore store = store(card);
        store.commitBlank();
        int used0 = store.usedLength((byte) 0);
        fillBeyond(store.slot((byte) 0), used0);
        card.expect(0x9000, card.initialise(SimCard.LIMIT, PIN));
        assertEquals(used0, count(store.slot((byte) 0), 0, used0, (byte) 0));
        assertEquals(CAPACITY - used0, count(store.slot((byte) 0), used0, CAPACITY, CANARY));
        assertEquals(0, store.usedLength((byte) 0));
    }
}

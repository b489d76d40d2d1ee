package dev.quorum.faults;

import java.util.ArrayList;
import java.util.List;
import javacard.framework.APDU;
import javacard.framework.JCSystem;
import javacard.framework.Util;

/**
 * The power switch behind instrumented card code (see {@link TearingClassLoader}): every
 * persistent write of the applet passes through here, so a test can count the writes of a command
 * and cut the power just before the k-th one. After the cut every further persistent write fails
 * too, as it would on a card without power.
 * <p>
 * A write is one injection point when it is one EEPROM cell update (a field, an array element, a
 * key-object method); a copy or fill of two or more bytes into a persistent array is two: before
 * it, and after its first half was written, because no copy is assumed to be atomic. Arrays are
 * persistent unless jcardsim knows them as transient, except the APDU buffer.
 * <p>
 * Not thread-safe: the simulator runs one APDU at a time on the test's thread.
 */
public final class FaultInjector {

    private static final List<String> SITES = new ArrayList<>();
    private static final List<String> TRACE = new ArrayList<>();
    /** 0: disarmed (writes pass, nothing is counted). */
    private static int armedAt;
    private static int count;
    private static boolean lost;
    private static int site;
    /** Persistent write operations since the last arm() (a copy or fill is one), for the footprint report. */
    private static int operations;
    /** Bytes those operations wrote into persistent arrays (field and key-object updates add none). */
    private static int bytes;
    /** The most bytes one of them wrote. */
    private static int largest;

    private FaultInjector() {
    }

    /** Registers a write site found by the instrumentation; returns its id. */
    static synchronized int register(String description) {
        SITES.add(description);
        return SITES.size() - 1;
    }

    /** Starts counting writes; the power is lost just before write number k (1-based). */
    public static void arm(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("k starts at 1");
        }
        armedAt = k;
        count = 0;
        operations = 0;
        bytes = 0;
        largest = 0;
        lost = false;
        TRACE.clear();
    }

    /** Counts every write from now on and never cuts the power: for finding how many there are. */
    public static void count() {
        arm(Integer.MAX_VALUE);
    }

    /** Stops counting and restores power; returns how many injection points were passed or hit. */
    public static int disarm() {
        armedAt = 0;
        lost = false;
        return count;
    }

    /** Whether the power was cut since the last arm(). */
    public static boolean powerLost() {
        return lost;
    }

    /** The injection points met since the last arm(), in order (site and which part). */
    public static List<String> trace() {
        return List.copyOf(TRACE);
    }

    // ---------------------------------------------------------------- called by instrumented code

    /** Notes which site the following store or Util call belongs to. */
    public static void site(int id) {
        site = id;
    }

    /** A field write or a key-object update: one point, always persistent. */
    public static void write(int id) {
        site = id;
        operation(0);
        point("");
    }

    /** bastore on a byte[] or boolean[]. */
    public static void bastore(Object array, int index, int value) {
        if (array instanceof boolean[] flags) {
            if (persistent(array)) {
                operation(1);
                point("");
            }
            flags[index] = (value & 1) != 0;
        } else {
            byte[] bytes = (byte[]) array;
            if (persistent(array)) {
                operation(1);
                point("");
            }
            bytes[index] = (byte) value;
        }
    }

    /** sastore on a short[]. */
    public static void sastore(short[] array, int index, int value) {
        if (persistent(array)) {
            operation(2);
            point("");
        }
        array[index] = (short) value;
    }

    /** Util.arrayCopy: atomic on a card, but its atomicity is not relied on here. */
    public static short arrayCopy(byte[] src, short srcOff, byte[] dest, short destOff, short length) {
        beforeCopy(src, srcOff, dest, destOff, length);
        return Util.arrayCopy(src, srcOff, dest, destOff, length);
    }

    /** Util.arrayCopyNonAtomic. */
    public static short arrayCopyNonAtomic(byte[] src, short srcOff, byte[] dest, short destOff, short length) {
        beforeCopy(src, srcOff, dest, destOff, length);
        return Util.arrayCopyNonAtomic(src, srcOff, dest, destOff, length);
    }

    /** Util.arrayFillNonAtomic. */
    public static short arrayFillNonAtomic(byte[] array, short offset, short length, byte value) {
        if (persistent(array)) {
            operation(length);
            point("before");
            if (length >= 2) {
                Util.arrayFillNonAtomic(array, offset, (short) (length / 2), value);
                point("half");
            }
        }
        return Util.arrayFillNonAtomic(array, offset, length, value);
    }

    /** Util.setShort: two bytes, not assumed atomic. */
    public static short setShort(byte[] array, short offset, short value) {
        if (persistent(array)) {
            operation(2);
            point("before");
            array[offset] = (byte) (value >> 8);
            point("half");
        }
        return Util.setShort(array, offset, value);
    }

    private static void beforeCopy(byte[] src, short srcOff, byte[] dest, short destOff, short length) {
        if (!persistent(dest)) {
            return;
        }
        operation(length);
        point("before");
        if (length >= 2 && src != dest) {
            Util.arrayCopyNonAtomic(src, srcOff, dest, destOff, (short) (length / 2));
            point("half");
        }
    }

    /** Persistent write operations since the last arm(): a copy, a fill or a field update is one. */
    public static int operations() {
        return operations;
    }

    /** Bytes written into persistent arrays since the last arm(). */
    public static int bytesWritten() {
        return bytes;
    }

    /** The most bytes a single operation wrote since the last arm(). */
    public static int largestWrite() {
        return largest;
    }

    private static void operation(int length) {
        if (armedAt == 0) {
            return;
        }
        operations++;
        bytes += length;
        largest = Math.max(largest, length);
    }

    private static boolean persistent(Object array) {
        if (armedAt == 0) {
            return false;
        }
        return JCSystem.isTransient(array) == JCSystem.NOT_A_TRANSIENT_OBJECT
                && array != APDU.getCurrentAPDUBuffer();
    }

    private static void point(String part) {
        if (armedAt == 0) {
            return;
        }
        String where = part.isEmpty() ? SITES.get(site) : SITES.get(site) + " (" + part + ")";
        if (lost) {
            throw new PowerLoss("no power for " + where);
        }
        count++;
        TRACE.add(where);
        if (count == armedAt) {
            lost = true;
            throw new PowerLoss("power lost before " + where);
        }
    }
}

package dev.quorum.faults;

import javacard.framework.APDU;
import javacard.framework.APDUException;
import javacard.framework.ISO7816;

/**
 * A real card's APDU buffer and receive behaviour behind instrumented card code (see
 * {@link SmallBufferClassLoader}): jcardsim's buffer for extended APDUs holds 32777 bytes and its
 * setIncomingAndReceive() returns the whole data field at once, so on jcardsim alone an applet's
 * loop over receiveBytes() never runs. Here every setIncomingAndReceive() and receiveBytes(offset)
 * of the applet gets at most {@code chunk} bytes, never past the end of a buffer of
 * {@code bufferSize} bytes (APDUException BUFFER_BOUNDS if the offset leaves no room, as a card
 * whose buffer would overflow), and everything in the buffer past what was delivered so far is
 * overwritten with junk, so that code reading bytes it has not received reads garbage.
 * <p>
 * Not thread-safe: the simulator runs one APDU at a time on the test's thread.
 */
public final class SmallBuffer {

    /** What the buffer holds where nothing was received: not a plausible record byte pattern. */
    private static final byte JUNK = (byte) 0xE5;

    private static int bufferSize = 261;
    private static int chunk = 64;
    /** The data field of the current APDU, taken out of jcardsim's buffer; delivered so far. */
    private static byte[] data = new byte[0];
    private static int delivered;
    /** Receive calls (setIncomingAndReceive and receiveBytes) and the most made for one APDU. */
    private static int calls;
    private static int callsThisApdu;
    private static int mostCallsPerApdu;
    /** The highest buffer offset a byte was delivered to, plus one. */
    private static int highWater;

    private SmallBuffer() {
    }

    /** A buffer of bufferSize bytes (header included) that receives at most chunk bytes per call. */
    public static void configure(int bufferSize, int chunk) {
        if (chunk < 1 || bufferSize < ISO7816.OFFSET_EXT_CDATA + 1) {
            throw new IllegalArgumentException("chunk " + chunk + ", buffer " + bufferSize);
        }
        SmallBuffer.bufferSize = bufferSize;
        SmallBuffer.chunk = chunk;
        calls = 0;
        mostCallsPerApdu = 0;
        highWater = 0;
    }

    /** Receive calls since configure(). */
    public static int calls() {
        return calls;
    }

    /** The most receive calls one APDU took since configure(). */
    public static int mostCallsPerApdu() {
        return mostCallsPerApdu;
    }

    /** One past the highest buffer offset any data byte was received at since configure(). */
    public static int highWater() {
        return highWater;
    }

    // ---------------------------------------------------------------- called by instrumented code

    /** Stands for apdu.setIncomingAndReceive(). */
    public static short setIncomingAndReceive(APDU apdu) {
        short all = apdu.setIncomingAndReceive();
        short offset = apdu.getOffsetCdata();
        byte[] buf = apdu.getBuffer();
        if (all != apdu.getIncomingLength()) {
            throw new IllegalStateException("jcardsim did not deliver the whole data field at once");
        }
        data = java.util.Arrays.copyOfRange(buf, offset, offset + all);
        java.util.Arrays.fill(buf, offset, buf.length, JUNK);
        delivered = 0;
        callsThisApdu = 0;
        return deliver(buf, offset);
    }

    /** Stands for apdu.receiveBytes(offset). */
    public static short receiveBytes(APDU apdu, short offset) {
        return deliver(apdu.getBuffer(), offset);
    }

    private static short deliver(byte[] buf, short offset) {
        calls++;
        callsThisApdu++;
        mostCallsPerApdu = Math.max(mostCallsPerApdu, callsThisApdu);
        int count = Math.min(chunk, data.length - delivered);
        if (offset < 0 || (count > 0 && offset + count > bufferSize)) {
            throw new APDUException(APDUException.BUFFER_BOUNDS);
        }
        // what an earlier chunk left past this offset is gone: the runtime reuses the buffer (past
        // bufferSize it is junk since setIncomingAndReceive)
        if (offset < bufferSize) {
            java.util.Arrays.fill(buf, offset, Math.min(bufferSize, buf.length), JUNK);
        }
        System.arraycopy(data, delivered, buf, offset, count);
        delivered += count;
        highWater = Math.max(highWater, offset + count);
        return (short) count;
    }
}

package dev.quorum.applet;

import javacard.framework.JCSystem;
import javacard.framework.Util;

/**
 * State that lives for one selection only, in RAM cleared on deselect and reset: the PUT RECORD
 * chain in progress and the output waiting for GET RESPONSE. Output is one part, or two sent back
 * to back (UNSEAL P1=01: the response buffer, then a range of a record slot; SELECT of an ENROLLED
 * card: the response buffer, then the public digest).
 */
final class Session {

    /** Output source: the response buffer below (0 and 1 are record slots). */
    static final byte SOURCE_RESPONSE = (byte) 2;
    /** Output source: the record slots' public digests (RecordStore.digests()). */
    static final byte SOURCE_DIGESTS = (byte) 3;

    private static final short CHAIN_PUBLIC = (short) 0;
    private static final short CHAIN_SEALED = (short) 1;
    private static final short CHAIN_RECEIVED = (short) 2;
    private static final short CHAIN_P1 = (short) 3;
    private static final short OUT_SOURCE = (short) 4;
    private static final short OUT_OFFSET = (short) 5;
    private static final short OUT_REMAINING = (short) 6;
    private static final short NEXT_SOURCE = (short) 7;
    private static final short NEXT_OFFSET = (short) 8;
    private static final short NEXT_REMAINING = (short) 9;
    private static final short VALUE_COUNT = (short) 10;

    private final short[] values;
    /** Response data that is not a record (may hold a DH output): wiped once sent or dropped. */
    final byte[] response;

    /** Allocates the RAM (install time only). */
    Session() {
        values = JCSystem.makeTransientShortArray(VALUE_COUNT, JCSystem.CLEAR_ON_DESELECT);
        response = JCSystem.makeTransientByteArray(Constants.RESPONSE_BUFFER_LENGTH, JCSystem.CLEAR_ON_DESELECT);
    }

    /** Drops the chain and the pending output (SELECT, deselect, any error). */
    void reset() {
        abortChain();
        discardOutput();
    }

    // ---- PUT RECORD chain ----

    /** Whether a PUT RECORD chain is in progress (its public length is never 0). */
    boolean chainActive() {
        return values[CHAIN_PUBLIC] != 0;
    }

    /** Starts a chain from a validated header; p1 is the PUT RECORD P1 every APDU of it must carry. */
    void startChain(short publicLength, short sealedLength, byte p1) {
        values[CHAIN_PUBLIC] = publicLength;
        values[CHAIN_SEALED] = sealedLength;
        values[CHAIN_RECEIVED] = 0;
        values[CHAIN_P1] = p1;
    }

    /** The P1 of the chain's first APDU. */
    byte chainP1() {
        return (byte) values[CHAIN_P1];
    }

    /** Public length announced by the chain's header. */
    short chainPublic() {
        return values[CHAIN_PUBLIC];
    }

    /** Sealed length announced by the chain's header. */
    short chainSealed() {
        return values[CHAIN_SEALED];
    }

    /** Record bytes received so far (header excluded). */
    short chainReceived() {
        return values[CHAIN_RECEIVED];
    }

    /** Notes the record bytes received so far. */
    void setChainReceived(short received) {
        values[CHAIN_RECEIVED] = received;
    }

    /** Forgets the chain; whatever was staged stays unreachable in the staging slot. */
    void abortChain() {
        values[CHAIN_PUBLIC] = 0;
        values[CHAIN_SEALED] = 0;
        values[CHAIN_RECEIVED] = 0;
        values[CHAIN_P1] = 0;
    }

    // ---- Output chaining ----

    /** Queues length bytes of a source (record slot 0/1, SOURCE_RESPONSE or SOURCE_DIGESTS) from offset. */
    void startOutput(byte source, short offset, short length) {
        values[OUT_SOURCE] = source;
        values[OUT_OFFSET] = offset;
        values[OUT_REMAINING] = length;
        values[NEXT_SOURCE] = 0;
        values[NEXT_OFFSET] = 0;
        values[NEXT_REMAINING] = 0;
    }

    /**
     * Queues a second part after the one startOutput queued: length bytes of a record slot or of
     * SOURCE_DIGESTS from offset (never SOURCE_RESPONSE, which the first part may be). Nothing for
     * length 0.
     */
    void appendOutput(byte source, short offset, short length) {
        if (values[OUT_REMAINING] == 0) {
            startOutput(source, offset, length);
            return;
        }
        values[NEXT_SOURCE] = source;
        values[NEXT_OFFSET] = offset;
        values[NEXT_REMAINING] = length;
    }

    /** Whether GET RESPONSE has something to fetch. */
    boolean outputPending() {
        return values[OUT_REMAINING] != 0;
    }

    /** Source of the pending output. */
    byte outputSource() {
        return (byte) values[OUT_SOURCE];
    }

    /** Offset of the next pending byte in its source. */
    short outputOffset() {
        return values[OUT_OFFSET];
    }

    /** Bytes still pending, both parts. */
    short outputRemaining() {
        return (short) (values[OUT_REMAINING] + values[NEXT_REMAINING]);
    }

    /** Bytes still pending in the current part (outputSource, from outputOffset). */
    short partRemaining() {
        return values[OUT_REMAINING];
    }

    /**
     * Marks count bytes of the current part as sent (at most partRemaining). When the part is out,
     * the next one becomes current and the response buffer is wiped; once everything is out, the
     * output is dropped (discardOutput).
     */
    void advanceOutput(short count) {
        values[OUT_OFFSET] = (short) (values[OUT_OFFSET] + count);
        values[OUT_REMAINING] = (short) (values[OUT_REMAINING] - count);
        if (values[OUT_REMAINING] != 0) {
            return;
        }
        if (values[NEXT_REMAINING] == 0) {
            discardOutput();
            return;
        }
        Util.arrayFillNonAtomic(response, (short) 0, Constants.RESPONSE_BUFFER_LENGTH, (byte) 0);
        values[OUT_SOURCE] = values[NEXT_SOURCE];
        values[OUT_OFFSET] = values[NEXT_OFFSET];
        values[OUT_REMAINING] = values[NEXT_REMAINING];
        values[NEXT_SOURCE] = 0;
        values[NEXT_OFFSET] = 0;
        values[NEXT_REMAINING] = 0;
    }

    /** Drops the pending output and wipes the response buffer. */
    void discardOutput() {
        values[OUT_SOURCE] = 0;
        values[OUT_OFFSET] = 0;
        values[OUT_REMAINING] = 0;
        values[NEXT_SOURCE] = 0;
        values[NEXT_OFFSET] = 0;
        values[NEXT_REMAINING] = 0;
        Util.arrayFillNonAtomic(response, (short) 0, Constants.RESPONSE_BUFFER_LENGTH, (byte) 0);
    }
}

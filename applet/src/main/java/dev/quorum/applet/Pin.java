package dev.quorum.applet;

import javacard.framework.JCSystem;
import javacard.framework.Util;

/**
 * The card PIN with a retry limit chosen at INITIALISE, because OwnerPIN fixes its limit when it
 * is constructed (at install). Keeps OwnerPIN's discipline: the tries-left counter is decremented
 * and written before the comparison, the comparison takes the same time whatever the input, and
 * the validated state lives in RAM only.
 */
final class Pin {

    /**
     * Two reference PIN blocks in EEPROM; {@link #current} names the valid one. A new PIN is
     * written into the other block and becomes valid by one single-byte write, so a card pulled
     * at any moment keeps either the old PIN or the new one, whatever a copy's atomicity.
     */
    private final byte[] blocks;
    /** 0 or 1: which block of {@link #blocks} is the PIN. */
    private byte current;
    /** Retry limit set at INITIALISE (3..10); 0 while BLANK. */
    private byte limit;
    /** Tries left; 0 means blocked. Written before every comparison. */
    private byte triesLeft;
    /** validated[0]: the PIN was presented correctly since the last reset, SELECT or deselect. */
    private final boolean[] validated;

    /** Allocates the two PIN blocks and the transient flag (install time only). */
    Pin() {
        blocks = new byte[(short) (2 * Constants.PIN_BLOCK_LENGTH)];
        validated = JCSystem.makeTransientBooleanArray((short) 1, JCSystem.CLEAR_ON_RESET);
    }

    /** Checks the PIN block format without touching any state, so that a typo costs no try. */
    static boolean isWellFormed(byte[] buf, short off) {
        short digits = 0;
        boolean padding = false;
        for (short i = 0; i < Constants.PIN_BLOCK_LENGTH; i++) {
            byte c = buf[(short) (off + i)];
            if (c == Constants.PIN_PAD) {
                padding = true;
            } else if (!padding && c >= Constants.PIN_DIGIT_FIRST && c <= Constants.PIN_DIGIT_LAST) {
                digits++;
            } else {
                return false;
            }
        }
        return digits >= Constants.PIN_MIN_DIGITS;
    }

    /** Sets a new PIN and retry limit at INITIALISE; the PIN is not validated afterwards. */
    void set(byte[] buf, short off, byte retryLimit) {
        validated[0] = false;
        replace(buf, off);
        limit = retryLimit;
        triesLeft = retryLimit;
    }

    /**
     * Replaces the PIN after check() accepted the old one (which restored the tries left); the
     * session stays validated.
     */
    void change(byte[] buf, short off) {
        replace(buf, off);
        validated[0] = true;
    }

    /** Writes the new block into the unused one, commits it with one byte write, wipes the old. */
    private void replace(byte[] buf, short off) {
        byte old = current;
        byte next = (byte) (old ^ 1);
        Util.arrayCopyNonAtomic(buf, off, blocks, blockOffset(next), Constants.PIN_BLOCK_LENGTH);
        current = next;
        Util.arrayFillNonAtomic(blocks, blockOffset(old), Constants.PIN_BLOCK_LENGTH, (byte) 0);
    }

    private static short blockOffset(byte block) {
        return (short) (block * Constants.PIN_BLOCK_LENGTH);
    }

    /**
     * Compares a well-formed PIN block with the reference. The try is spent (written to EEPROM)
     * before comparing, so pulling the card after a wrong guess cannot save it.
     */
    boolean check(byte[] buf, short off) {
        validated[0] = false;
        if (triesLeft == 0) {
            return false;
        }
        triesLeft = (byte) (triesLeft - 1);
        short reference = blockOffset(current);
        byte diff = 0;
        for (short i = 0; i < Constants.PIN_BLOCK_LENGTH; i++) {
            diff = (byte) (diff | (byte) (blocks[(short) (reference + i)] ^ buf[(short) (off + i)]));
        }
        if (diff != 0) {
            return false;
        }
        triesLeft = limit;
        validated[0] = true;
        return true;
    }

    /** Ends the validated state (reset, SELECT, deselect, VERIFY P1=FF, factory reset). */
    void resetValidated() {
        validated[0] = false;
    }

    /** Whether the PIN was presented correctly in this session. */
    boolean isValidated() {
        return validated[0];
    }

    /** Whether no try is left. */
    boolean isBlocked() {
        return triesLeft == 0;
    }

    /** Tries left, for GET STATUS and 63Cx. */
    byte triesLeft() {
        return triesLeft;
    }

    /** Retry limit, for GET STATUS. */
    byte limit() {
        return limit;
    }

    /** Forgets the PIN at factory reset. */
    void clear() {
        validated[0] = false;
        Util.arrayFillNonAtomic(blocks, (short) 0, (short) (2 * Constants.PIN_BLOCK_LENGTH), (byte) 0);
        current = 0;
        triesLeft = 0;
        limit = 0;
    }
}

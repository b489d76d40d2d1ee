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

    /** The reference PIN block, in EEPROM. */
    private final byte[] reference;
    /** Retry limit set at INITIALISE (3..10); 0 while BLANK. */
    private byte limit;
    /** Tries left; 0 means blocked. Written before every comparison. */
    private byte triesLeft;
    /** validated[0]: the PIN was presented correctly since the last reset, SELECT or deselect. */
    private final boolean[] validated;

    /** Allocates the reference block and the transient flag (install time only). */
    Pin() {
        reference = new byte[Constants.PIN_BLOCK_LENGTH];
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
        Util.arrayCopy(buf, off, reference, (short) 0, Constants.PIN_BLOCK_LENGTH);
        limit = retryLimit;
        triesLeft = retryLimit;
    }

    /** Replaces the PIN after the old one was checked; the session stays validated. */
    void change(byte[] buf, short off) {
        Util.arrayCopy(buf, off, reference, (short) 0, Constants.PIN_BLOCK_LENGTH);
        triesLeft = limit;
        validated[0] = true;
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
        byte diff = 0;
        for (short i = 0; i < Constants.PIN_BLOCK_LENGTH; i++) {
            diff = (byte) (diff | (byte) (reference[i] ^ buf[(short) (off + i)]));
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
        Util.arrayFillNonAtomic(reference, (short) 0, Constants.PIN_BLOCK_LENGTH, (byte) 0);
        triesLeft = 0;
        limit = 0;
    }
}

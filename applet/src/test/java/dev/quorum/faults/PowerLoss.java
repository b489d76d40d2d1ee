package dev.quorum.faults;

/**
 * The card lost power in the middle of an APDU. An Error, not a RuntimeException, so that the
 * applet's own catch blocks cannot turn it into a status word: on a real card nothing runs after
 * the power is gone.
 */
public final class PowerLoss extends Error {

    private static final long serialVersionUID = 1L;

    /** Names the write that did not happen (or happened only in part). */
    PowerLoss(String where) {
        super(where, null, false, false);
    }
}

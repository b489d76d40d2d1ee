package dev.quorum.cardfarm;

/** A request the farm refuses; the message goes back to the client as {@code err <message>}. */
final class FarmException extends Exception {
    private static final long serialVersionUID = 1L;

    FarmException(String message) {
        super(message);
    }

    FarmException(String message, Throwable cause) {
        super(message, cause);
    }
}

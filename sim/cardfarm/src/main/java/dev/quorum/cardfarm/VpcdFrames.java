package dev.quorum.cardfarm;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The vpcd socket framing: every message is a 2-byte big-endian length, then the payload.
 * A 1-byte payload is a control code; anything longer is a command APDU. Kept apart from
 * the socket handling so the framing can be tested on byte streams.
 */
final class VpcdFrames {
    /** Control code: the reader cuts the card's power. */
    static final int POWER_OFF = 0;
    /** Control code: the reader powers the card up (a cold reset). */
    static final int POWER_ON = 1;
    /** Control code: the reader resets the card (a warm reset). */
    static final int RESET = 2;
    /** Control code: the reader asks for the ATR; vpcd also uses it to poll for presence. */
    static final int GET_ATR = 4;

    /** Largest payload the 2-byte length can announce. */
    static final int MAX_PAYLOAD = 0xFFFF;

    private VpcdFrames() {}

    /**
     * Reads one frame, or returns null when the peer closed the connection cleanly
     * between frames (vpcd does that when pcscd stops or ejects the card).
     */
    static byte[] read(InputStream in) throws IOException {
        return read(in, () -> {});
    }

    /**
     * Like {@link #read(InputStream)}, and runs {@code afterHeader} between the length and
     * the payload: vpcd sends them in two writes, so the reader can acknowledge the first
     * at once instead of letting Nagle's algorithm hold the payload back.
     */
    static byte[] read(InputStream in, Runnable afterHeader) throws IOException {
        int hi = in.read();
        if (hi < 0) {
            return null;
        }
        int lo = in.read();
        if (lo < 0) {
            throw new EOFException("vpcd connection closed inside a frame header");
        }
        byte[] payload = new byte[(hi << 8) | lo];
        afterHeader.run();
        try {
            new DataInputStream(in).readFully(payload);
        } catch (EOFException e) {
            throw new EOFException("vpcd connection closed inside a " + payload.length + "-byte frame");
        }
        return payload;
    }

    /** Writes one frame in a single write call, so a frame never goes out in pieces. */
    static void write(OutputStream out, byte[] payload) throws IOException {
        if (payload.length > MAX_PAYLOAD) {
            throw new IllegalArgumentException("vpcd frame payload of " + payload.length
                    + " bytes exceeds " + MAX_PAYLOAD);
        }
        byte[] frame = new byte[payload.length + 2];
        frame[0] = (byte) (payload.length >>> 8);
        frame[1] = (byte) payload.length;
        System.arraycopy(payload, 0, frame, 2, payload.length);
        out.write(frame);
        out.flush();
    }
}

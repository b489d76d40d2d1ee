package dev.quorum.applet;

import javacard.framework.JCSystem;
import javacard.framework.Util;

/**
 * Checks that a point sent to UNSEAL lies on Wei25519 (y^2 = x^3 + a*x + b mod p) before the
 * card's key touches it, because KeyAgreement is not required to reject points of another curve
 * (jcardsim does not), and such points would leak the private key modulo small primes. Before
 * that, {@link #isLowOrderX} refuses the x of every point of order 2, 4 and 8 in constant time.
 * <p>
 * Numbers are 32-byte big-endian; arithmetic works byte by byte with short accumulators, and
 * reduces with 2^256 = 38 (mod p). It computes nothing secret: it only reads the public input.
 */
final class CurveCheck {

    private static final short LENGTH = Constants.COORDINATE_LENGTH;
    private static final short WIDE_LENGTH = (short) 64;
    /** 2^256 mod p. */
    private static final short FOLD = (short) 38;

    private final Wei25519 curve;
    /** 64-byte product before reduction. */
    private final byte[] wide;
    /** Right-hand side x^3 + a*x + b. */
    private final byte[] rhs;
    /** Scratch, then left-hand side y^2. */
    private final byte[] tmp;

    /** Allocates the work buffers in RAM (install time only). */
    CurveCheck(Wei25519 curve) {
        this.curve = curve;
        wide = JCSystem.makeTransientByteArray(WIDE_LENGTH, JCSystem.CLEAR_ON_DESELECT);
        rhs = JCSystem.makeTransientByteArray(LENGTH, JCSystem.CLEAR_ON_DESELECT);
        tmp = JCSystem.makeTransientByteArray(LENGTH, JCSystem.CLEAR_ON_DESELECT);
    }

    /**
     * Whether the 32-byte X at buf[off] is one of the {@link Wei25519#lowOrderX} values: the x of
     * a point of order 2, 4 or 8, or of the twist point u = p - 1. The scalar multiplication of
     * such a point by d, its timing and any answer derived from it depend on d mod 8 only, so
     * UNSEAL calls this before anything else touches the point.
     * <p>
     * Constant time in X: every byte of every candidate is read, with no early exit. Per
     * candidate the XORs of all 32 byte pairs are ORed together (0 exactly when X equals it); that
     * byte is turned into all-ones or zero without a branch ((diff - 1) >> 15) and ORed into the
     * verdict. The only branch that depends on X is the one on that final verdict.
     */
    boolean isLowOrderX(byte[] buf, short off) {
        byte[] table = curve.lowOrderX;
        short at = 0;
        short found = 0;
        for (short k = 0; k < Wei25519.LOW_ORDER_COUNT; k++) {
            short diff = 0;
            for (short i = 0; i < LENGTH; i++) {
                diff = (short) (diff | (short) ((short) (buf[(short) (off + i)] ^ table[at]) & 0xFF));
                at++;
            }
            // diff is 0..255: diff - 1 is negative (sign bit set) exactly when X equals candidate k
            found = (short) (found | (short) ((short) (diff - 1) >> 15));
        }
        return found != 0;
    }

    /** Whether buf[off..off+65) is 04 || X || Y with X, Y < p and the curve equation holding. */
    boolean isOnCurve(byte[] buf, short off) {
        if (buf[off] != Constants.POINT_UNCOMPRESSED) {
            return false;
        }
        short x = (short) (off + 1);
        short y = (short) (x + LENGTH);
        if (compare(buf, x, curve.prime, (short) 0) >= 0 || compare(buf, y, curve.prime, (short) 0) >= 0) {
            return false;
        }
        multiply(buf, x, buf, x, rhs);                 // x^2
        multiply(rhs, (short) 0, buf, x, rhs);         // x^3
        multiply(curve.a, (short) 0, buf, x, tmp);     // a*x
        add(rhs, tmp, rhs);                            // x^3 + a*x
        add(rhs, curve.b, rhs);                        // x^3 + a*x + b
        multiply(buf, y, buf, y, tmp);                 // y^2
        boolean on = Util.arrayCompare(rhs, (short) 0, tmp, (short) 0, LENGTH) == 0;
        Util.arrayFillNonAtomic(wide, (short) 0, WIDE_LENGTH, (byte) 0);
        Util.arrayFillNonAtomic(rhs, (short) 0, LENGTH, (byte) 0);
        Util.arrayFillNonAtomic(tmp, (short) 0, LENGTH, (byte) 0);
        return on;
    }

    /** out = x * y mod p, for x, y < p; out may be x or y. */
    void multiply(byte[] xs, short xo, byte[] ys, short yo, byte[] out) {
        Util.arrayFillNonAtomic(wide, (short) 0, WIDE_LENGTH, (byte) 0);
        for (short i = (short) (LENGTH - 1); i >= 0; i--) {
            short xi = (short) (xs[(short) (xo + i)] & 0xFF);
            short carry = 0;
            for (short j = (short) (LENGTH - 1); j >= 0; j--) {
                short k = (short) (i + j + 1);
                // at most 255 * 255 + 255 + 255 = 65535: the 16 bits are exact even if the sign is not
                short t = (short) ((short) (xi * (short) (ys[(short) (yo + j)] & 0xFF))
                        + (short) (wide[k] & 0xFF) + carry);
                wide[k] = (byte) t;
                carry = (short) ((t >> 8) & 0xFF);
            }
            wide[i] = (byte) carry;
        }
        // wide = H * 2^256 + L = L + 38 * H (mod p)
        short carry = 0;
        for (short i = (short) (LENGTH - 1); i >= 0; i--) {
            short t = (short) ((short) (wide[(short) (LENGTH + i)] & 0xFF)
                    + (short) (FOLD * (short) (wide[i] & 0xFF)) + carry);
            out[i] = (byte) t;
            carry = (short) ((t >> 8) & 0xFF);
        }
        // carry * 2^256 = 38 * carry; adding it can overflow once more, by at most 1
        carry = addSmall(out, (short) (FOLD * carry));
        addSmall(out, (short) (FOLD * carry));
        reduceOnce(out);
        reduceOnce(out);
    }

    /** out = x + y mod p, for x, y < p (so x + y < 2p < 2^256). */
    void add(byte[] xs, byte[] ys, byte[] out) {
        short carry = 0;
        for (short i = (short) (LENGTH - 1); i >= 0; i--) {
            short t = (short) ((short) (xs[i] & 0xFF) + (short) (ys[i] & 0xFF) + carry);
            out[i] = (byte) t;
            carry = (short) ((t >> 8) & 0xFF);
        }
        reduceOnce(out);
    }

    /** Adds a small value (below 2^15 - 256) at the low end; returns the carry out of 2^256 (0 or 1). */
    private static short addSmall(byte[] v, short value) {
        for (short i = (short) (LENGTH - 1); i >= 0 && value != 0; i--) {
            short t = (short) ((short) (v[i] & 0xFF) + value);
            v[i] = (byte) t;
            value = (short) ((t >> 8) & 0x7F);
        }
        return value;
    }

    /** Subtracts p once if v >= p. */
    private void reduceOnce(byte[] v) {
        if (compare(v, (short) 0, curve.prime, (short) 0) < 0) {
            return;
        }
        short borrow = 0;
        for (short i = (short) (LENGTH - 1); i >= 0; i--) {
            short t = (short) ((short) ((short) (v[i] & 0xFF) - (short) (curve.prime[i] & 0xFF)) - borrow);
            v[i] = (byte) t;
            borrow = (short) (t < 0 ? 1 : 0);
        }
    }

    /** Unsigned comparison of two 32-byte big-endian numbers: negative, 0 or positive. */
    private static short compare(byte[] x, short xo, byte[] y, short yo) {
        for (short i = 0; i < LENGTH; i++) {
            short a = (short) (x[(short) (xo + i)] & 0xFF);
            short b = (short) (y[(short) (yo + i)] & 0xFF);
            if (a != b) {
                return (short) (a - b);
            }
        }
        return 0;
    }
}

package dev.quorum.applet;

import java.math.BigInteger;
import java.util.Arrays;

/**
 * Test-side Wei25519 arithmetic with BigInteger (affine, slow, obviously correct), to make
 * expected values that do not come from the code under test.
 */
final class WeiMath {

    static final BigInteger P = BigInteger.TWO.pow(255).subtract(BigInteger.valueOf(19));
    /** Montgomery coefficient of Curve25519. */
    static final BigInteger MONTGOMERY_A = BigInteger.valueOf(486662);
    /** a = (3 - A^2) / 3, derived here rather than copied, so the card's constant is checked. */
    static final BigInteger A = BigInteger.valueOf(3).subtract(MONTGOMERY_A.pow(2))
            .multiply(BigInteger.valueOf(3).modInverse(P)).mod(P);
    /** b = (2 A^3 - 9 A) / 27. */
    static final BigInteger B = MONTGOMERY_A.pow(3).shiftLeft(1).subtract(MONTGOMERY_A.multiply(BigInteger.valueOf(9)))
            .multiply(BigInteger.valueOf(27).modInverse(P)).mod(P);
    static final BigInteger GX = new BigInteger("2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad245a", 16);
    static final BigInteger GY = new BigInteger("20ae19a1b8a086b4e01edd2c7748d14c923d4d7e6d7c61b229e9c5a27eced3d9", 16);
    static final BigInteger R = BigInteger.TWO.pow(252).add(new BigInteger("14def9dea2f79cd65812631a5cf5d3ed", 16));
    static final BigInteger[] G = {GX, GY};
    /** A/3 mod p: Weierstrass x = Montgomery u + A/3. */
    static final BigInteger A_THIRD = MONTGOMERY_A.multiply(BigInteger.valueOf(3).modInverse(P)).mod(P);
    /**
     * The canonical Montgomery u of the X25519 small-order list (libsodium's blacklist; RFC 7748
     * implementations refuse the same): 0 (order 2), 1 (order 4), p - 1 (on the twist) and the two
     * u of the points of order 8, in the order the applet stores their x.
     */
    static final BigInteger[] LOW_ORDER_U = {
        BigInteger.ZERO,
        BigInteger.ONE,
        P.subtract(BigInteger.ONE),
        new BigInteger("325606250916557431795983626356110631294008115727848805560023387167927233504"),
        new BigInteger("39382357235489614581723060781553021112529911719440698176882885853963445705823"),
    };

    private WeiMath() {
    }

    static boolean onCurve(BigInteger[] pt) {
        BigInteger x = pt[0];
        BigInteger y = pt[1];
        return y.multiply(y).subtract(x.pow(3)).subtract(A.multiply(x)).subtract(B).mod(P).signum() == 0;
    }

    /** Point addition; null is the point at infinity. */
    static BigInteger[] add(BigInteger[] p1, BigInteger[] p2) {
        if (p1 == null) {
            return p2;
        }
        if (p2 == null) {
            return p1;
        }
        BigInteger lambda;
        if (p1[0].equals(p2[0])) {
            if (p1[1].add(p2[1]).mod(P).signum() == 0) {
                return null;
            }
            lambda = p1[0].pow(2).multiply(BigInteger.valueOf(3)).add(A)
                    .multiply(p1[1].shiftLeft(1).modInverse(P)).mod(P);
        } else {
            lambda = p2[1].subtract(p1[1]).multiply(p2[0].subtract(p1[0]).modInverse(P)).mod(P);
        }
        BigInteger x = lambda.pow(2).subtract(p1[0]).subtract(p2[0]).mod(P);
        BigInteger y = lambda.multiply(p1[0].subtract(x)).subtract(p1[1]).mod(P);
        return new BigInteger[] {x, y};
    }

    static BigInteger[] multiply(BigInteger k, BigInteger[] pt) {
        BigInteger[] result = null;
        for (int i = k.bitLength() - 1; i >= 0; i--) {
            result = add(result, result);
            if (k.testBit(i)) {
                result = add(result, pt);
            }
        }
        return result;
    }

    static byte[] encode(BigInteger[] pt) {
        byte[] out = new byte[65];
        out[0] = 4;
        System.arraycopy(fixed(pt[0]), 0, out, 1, 32);
        System.arraycopy(fixed(pt[1]), 0, out, 33, 32);
        return out;
    }

    static BigInteger[] decode(byte[] encoded) {
        if (encoded.length != 65 || encoded[0] != 4) {
            throw new IllegalArgumentException("not an uncompressed point: " + encoded.length + " bytes");
        }
        return new BigInteger[] {
            new BigInteger(1, Arrays.copyOfRange(encoded, 1, 33)),
            new BigInteger(1, Arrays.copyOfRange(encoded, 33, 65))
        };
    }

    /** 32-byte big-endian. */
    static byte[] fixed(BigInteger v) {
        byte[] raw = v.toByteArray();
        byte[] out = new byte[32];
        int n = Math.min(raw.length, 32);
        System.arraycopy(raw, raw.length - n, out, 32 - n, n);
        return out;
    }

    /** A square root mod p (p = 5 mod 8), or null. */
    static BigInteger sqrt(BigInteger v) {
        BigInteger x = v.modPow(P.add(BigInteger.valueOf(3)).shiftRight(3), P);
        if (!x.multiply(x).subtract(v).mod(P).equals(BigInteger.ZERO)) {
            x = x.multiply(BigInteger.TWO.modPow(P.subtract(BigInteger.ONE).shiftRight(2), P)).mod(P);
        }
        return x.multiply(x).subtract(v).mod(P).equals(BigInteger.ZERO) ? x : null;
    }

    /** Weierstrass x of a Montgomery u. */
    static BigInteger weierstrassX(BigInteger u) {
        return u.add(A_THIRD).mod(P);
    }

    /** x^3 + a*x + b mod p: y^2 of a point with this x (a square iff the x is on the curve). */
    static BigInteger rhs(BigInteger x) {
        return x.pow(3).add(A.multiply(x)).add(B).mod(P);
    }

    /** A point of order 8 (r times a curve point whose torsion part has order 8). */
    static BigInteger[] torsionPointOfOrder8() {
        for (int i = 1; ; i++) {
            BigInteger x = BigInteger.valueOf(i);
            BigInteger y = sqrt(x.pow(3).add(A.multiply(x)).add(B).mod(P));
            if (y == null) {
                continue;
            }
            BigInteger[] t = multiply(R, new BigInteger[] {x, y});
            if (t != null && multiply(BigInteger.valueOf(4), t) != null) {
                return t;
            }
        }
    }

    /** A random scalar in [1, r). */
    static BigInteger randomScalar(java.util.Random random) {
        BigInteger k;
        do {
            k = new BigInteger(256, random).mod(R);
        } while (k.signum() == 0);
        return k;
    }
}

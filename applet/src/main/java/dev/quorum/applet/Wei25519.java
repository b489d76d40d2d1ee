package dev.quorum.applet;

import javacard.security.ECKey;

/**
 * Domain parameters of Wei25519, Curve25519 in short-Weierstrass form, because JavaCard 3.0.4
 * has no X25519 but every EC coprocessor takes custom prime-field parameters.
 */
final class Wei25519 {

    /** Cofactor of Curve25519. */
    private static final short COFACTOR = (short) 8;
    /** How many x values {@link #lowOrderX} holds. */
    static final short LOW_ORDER_COUNT = (short) 5;

    /** p = 2^255 - 19, big-endian. */
    final byte[] prime;
    /** Curve coefficient a, big-endian. */
    final byte[] a;
    /** Curve coefficient b, big-endian. */
    final byte[] b;
    /** Generator 04 || X || Y (Montgomery u = 9). */
    private final byte[] generator;
    /** Order of the prime subgroup, r = 2^252 + 0x14def9dea2f79cd65812631a5cf5d3ed, big-endian. */
    final byte[] order;
    /**
     * The x of every point of order 2, 4 or 8, and of the twist's point u = p - 1: 32 bytes each,
     * big-endian, {@link #LOW_ORDER_COUNT} of them one after the other. Each is x = u + A/3 mod p
     * for a Montgomery u of the X25519 small-order list (libsodium's blacklist, canonical values
     * only); the identity has no x. The tests recompute every value and each point's order.
     */
    final byte[] lowOrderX;

    /** Allocates the parameters once, at install time. */
    Wei25519() {
        prime = new byte[] {
            (byte) 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
            (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
            (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
            (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xed
        };
        a = new byte[] {
            (byte) 0x2a, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa,
            (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa,
            (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa,
            (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0x98, (byte) 0x49, (byte) 0x14, (byte) 0xa1, (byte) 0x44
        };
        b = new byte[] {
            (byte) 0x7b, (byte) 0x42, (byte) 0x5e, (byte) 0xd0, (byte) 0x97, (byte) 0xb4, (byte) 0x25, (byte) 0xed,
            (byte) 0x09, (byte) 0x7b, (byte) 0x42, (byte) 0x5e, (byte) 0xd0, (byte) 0x97, (byte) 0xb4, (byte) 0x25,
            (byte) 0xed, (byte) 0x09, (byte) 0x7b, (byte) 0x42, (byte) 0x5e, (byte) 0xd0, (byte) 0x97, (byte) 0xb4,
            (byte) 0x26, (byte) 0x0b, (byte) 0x5e, (byte) 0x9c, (byte) 0x77, (byte) 0x10, (byte) 0xc8, (byte) 0x64
        };
        generator = new byte[] {
            (byte) 0x04,
            (byte) 0x2a, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa,
            (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa,
            (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa,
            (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xad, (byte) 0x24, (byte) 0x5a,
            (byte) 0x20, (byte) 0xae, (byte) 0x19, (byte) 0xa1, (byte) 0xb8, (byte) 0xa0, (byte) 0x86, (byte) 0xb4,
            (byte) 0xe0, (byte) 0x1e, (byte) 0xdd, (byte) 0x2c, (byte) 0x77, (byte) 0x48, (byte) 0xd1, (byte) 0x4c,
            (byte) 0x92, (byte) 0x3d, (byte) 0x4d, (byte) 0x7e, (byte) 0x6d, (byte) 0x7c, (byte) 0x61, (byte) 0xb2,
            (byte) 0x29, (byte) 0xe9, (byte) 0xc5, (byte) 0xa2, (byte) 0x7e, (byte) 0xce, (byte) 0xd3, (byte) 0xd9
        };
        order = new byte[] {
            (byte) 0x10, (byte) 0x00, (byte) 0x00, (byte) 0x00, (byte) 0x00, (byte) 0x00, (byte) 0x00, (byte) 0x00,
            (byte) 0x00, (byte) 0x00, (byte) 0x00, (byte) 0x00, (byte) 0x00, (byte) 0x00, (byte) 0x00, (byte) 0x00,
            (byte) 0x14, (byte) 0xde, (byte) 0xf9, (byte) 0xde, (byte) 0xa2, (byte) 0xf7, (byte) 0x9c, (byte) 0xd6,
            (byte) 0x58, (byte) 0x12, (byte) 0x63, (byte) 0x1a, (byte) 0x5c, (byte) 0xf5, (byte) 0xd3, (byte) 0xed
        };
        lowOrderX = new byte[] {
            // u = 0: the point of order 2
            (byte) 0x2a, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa,
            (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa,
            (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa,
            (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xad, (byte) 0x24, (byte) 0x51,
            // u = 1: the two points of order 4
            (byte) 0x2a, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa,
            (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa,
            (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa,
            (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xad, (byte) 0x24, (byte) 0x52,
            // u = p - 1: no point on Wei25519 (a point of order 4 on the quadratic twist)
            (byte) 0x2a, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa,
            (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa,
            (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa,
            (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xaa, (byte) 0xad, (byte) 0x24, (byte) 0x50,
            // u = 325606250916557431795983626356110631294008115727848805560023387167927233504:
            // two points of order 8
            (byte) 0x2b, (byte) 0x62, (byte) 0xf4, (byte) 0x09, (byte) 0xc0, (byte) 0xb0, (byte) 0x0d, (byte) 0x31,
            (byte) 0xa8, (byte) 0x5b, (byte) 0xdd, (byte) 0x47, (byte) 0x96, (byte) 0x37, (byte) 0xb4, (byte) 0x85,
            (byte) 0x15, (byte) 0x6f, (byte) 0x4a, (byte) 0x9c, (byte) 0xa5, (byte) 0x8e, (byte) 0x00, (byte) 0xc1,
            (byte) 0x59, (byte) 0x62, (byte) 0xeb, (byte) 0xe6, (byte) 0x27, (byte) 0x28, (byte) 0x10, (byte) 0x31,
            // u = 39382357235489614581723060781553021112529911719440698176882885853963445705823:
            // two points of order 8
            (byte) 0x01, (byte) 0xbc, (byte) 0x4a, (byte) 0x7b, (byte) 0x87, (byte) 0xf8, (byte) 0xcd, (byte) 0x83,
            (byte) 0x31, (byte) 0x38, (byte) 0xc7, (byte) 0x03, (byte) 0x6f, (byte) 0x06, (byte) 0xee, (byte) 0xaf,
            (byte) 0x06, (byte) 0x9a, (byte) 0x2e, (byte) 0x47, (byte) 0x00, (byte) 0x5c, (byte) 0x7b, (byte) 0x5b,
            (byte) 0xcf, (byte) 0x36, (byte) 0xfb, (byte) 0x4e, (byte) 0x67, (byte) 0x42, (byte) 0xc0, (byte) 0xc3
        };
    }

    /** Sets every domain parameter on a key, because real cards want them on both halves of a pair. */
    void applyTo(ECKey key) {
        key.setFieldFP(prime, (short) 0, Constants.COORDINATE_LENGTH);
        key.setA(a, (short) 0, Constants.COORDINATE_LENGTH);
        key.setB(b, (short) 0, Constants.COORDINATE_LENGTH);
        key.setG(generator, (short) 0, Constants.POINT_LENGTH);
        key.setR(order, (short) 0, Constants.COORDINATE_LENGTH);
        key.setK(COFACTOR);
    }
}

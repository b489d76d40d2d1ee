package dev.quorum.applet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.licel.jcardsim.smartcardio.CardSimulator;
import java.math.BigInteger;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The on-card curve-equation check against BigInteger arithmetic. */
class CurveCheckTest {

    private Wei25519 curve;
    private CurveCheck check;

    @BeforeEach
    void setUp() {
        // transient arrays need a simulator runtime on this thread
        new CardSimulator();
        curve = new Wei25519();
        check = new CurveCheck(curve);
    }

    @Test
    void parametersMatchTheDraft() {
        assertArrayEquals(WeiMath.fixed(WeiMath.P), curve.prime);
        assertArrayEquals(WeiMath.fixed(WeiMath.A), curve.a);
        assertArrayEquals(WeiMath.fixed(WeiMath.B), curve.b);
        assertTrue(WeiMath.onCurve(WeiMath.G));
        assertEquals(null, WeiMath.multiply(WeiMath.R, WeiMath.G), "r * G is the identity");
        // Montgomery u of G is 9: u = x - A/3 with A = 486662
        BigInteger u = WeiMath.GX.subtract(BigInteger.valueOf(486662)
                .multiply(BigInteger.valueOf(3).modInverse(WeiMath.P))).mod(WeiMath.P);
        assertEquals(BigInteger.valueOf(9), u);
    }

    @Test
    void multiplyAndAddMatchBigInteger() {
        Random random = new Random(7);
        byte[] out = new byte[32];
        for (int i = 0; i < 300; i++) {
            BigInteger x = randomBelowP(random, i);
            BigInteger y = randomBelowP(random, i + 1);
            check.multiply(WeiMath.fixed(x), (short) 0, WeiMath.fixed(y), (short) 0, out);
            assertArrayEquals(WeiMath.fixed(x.multiply(y).mod(WeiMath.P)), out, "x*y for " + x + ", " + y);
            check.add(WeiMath.fixed(x), WeiMath.fixed(y), out);
            assertArrayEquals(WeiMath.fixed(x.add(y).mod(WeiMath.P)), out, "x+y for " + x + ", " + y);
        }
    }

    @Test
    void acceptsPointsOnTheCurve() {
        Random random = new Random(8);
        assertTrue(check.isOnCurve(WeiMath.encode(WeiMath.G), (short) 0));
        for (int i = 0; i < 10; i++) {
            BigInteger[] pt = WeiMath.multiply(WeiMath.randomScalar(random), WeiMath.G);
            byte[] buf = new byte[70];
            System.arraycopy(WeiMath.encode(pt), 0, buf, 5, 65);
            assertTrue(check.isOnCurve(buf, (short) 5));
        }
    }

    @Test
    void refusesEverythingElse() {
        Random random = new Random(9);
        for (int i = 0; i < 50; i++) {
            BigInteger[] pt = {randomBelowP(random, i), randomBelowP(random, i + 3)};
            assertEquals(WeiMath.onCurve(pt), check.isOnCurve(WeiMath.encode(pt), (short) 0));
        }
        BigInteger[] g = WeiMath.G;
        assertFalse(check.isOnCurve(WeiMath.encode(new BigInteger[] {g[0], g[1].add(BigInteger.ONE)}), (short) 0));
        // the same point with a non-canonical coordinate (y + p still fits in 32 bytes)
        assertFalse(check.isOnCurve(WeiMath.encode(new BigInteger[] {g[0], g[1].add(WeiMath.P)}), (short) 0));
        byte[] compressedPrefix = WeiMath.encode(g);
        compressedPrefix[0] = 2;
        assertFalse(check.isOnCurve(compressedPrefix, (short) 0));
    }

    /**
     * The applet's low-order x table, recomputed: x = u + A/3 for each u of the X25519 small-order
     * list, and each u checked to be what the list says (orders computed on the curve; p - 1 on
     * the twist), and the table checked to hold the x of all seven non-identity torsion points.
     */
    @Test
    void lowOrderTableIsComputedNotTyped() {
        assertEquals(new BigInteger("2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad2451", 16), WeiMath.A_THIRD);
        assertEquals(5, Wei25519.LOW_ORDER_COUNT);
        byte[] expected = new byte[32 * WeiMath.LOW_ORDER_U.length];
        for (int k = 0; k < WeiMath.LOW_ORDER_U.length; k++) {
            System.arraycopy(WeiMath.fixed(WeiMath.weierstrassX(WeiMath.LOW_ORDER_U[k])), 0, expected, 32 * k, 32);
        }
        assertArrayEquals(expected, curve.lowOrderX);
        // orders on the curve: u = 0 has order 2, u = 1 order 4, the last two order 8
        int[] orders = {2, 4, 0, 8, 8};
        for (int k = 0; k < orders.length; k++) {
            BigInteger x = WeiMath.weierstrassX(WeiMath.LOW_ORDER_U[k]);
            BigInteger y = WeiMath.sqrt(WeiMath.rhs(x));
            if (orders[k] == 0) {
                assertEquals(null, y, "u = p - 1 has no point on the curve");
                continue;
            }
            BigInteger[] pt = {x, y};
            assertTrue(WeiMath.onCurve(pt));
            assertEquals(null, WeiMath.multiply(BigInteger.valueOf(orders[k]), pt), "order divides " + orders[k]);
            assertTrue(WeiMath.multiply(BigInteger.valueOf(orders[k] / 2), pt) != null, "order is " + orders[k]);
        }
        // u = p - 1 on the twist: x-only doubling gives u = 0, whose double is the identity: order 4
        BigInteger twice = montgomeryDoubleU(WeiMath.LOW_ORDER_U[2]);
        assertEquals(BigInteger.ZERO, twice);
        assertEquals(null, montgomeryDoubleU(twice));
        // the curve's torsion is Z/8: its seven non-identity points have exactly the four x of the table
        BigInteger[] t = WeiMath.torsionPointOfOrder8();
        Set<BigInteger> torsionX = new HashSet<>();
        for (int i = 1; i < 8; i++) {
            torsionX.add(WeiMath.multiply(BigInteger.valueOf(i), t)[0]);
        }
        Set<BigInteger> onCurve = new HashSet<>();
        for (int k : new int[] {0, 1, 3, 4}) {
            onCurve.add(WeiMath.weierstrassX(WeiMath.LOW_ORDER_U[k]));
        }
        assertEquals(onCurve, torsionX);
    }

    @Test
    void lowOrderXMatchesExactlyTheTable() {
        Random random = new Random(10);
        for (int k = 0; k < WeiMath.LOW_ORDER_U.length; k++) {
            byte[] x = WeiMath.fixed(WeiMath.weierstrassX(WeiMath.LOW_ORDER_U[k]));
            byte[] buf = new byte[40];
            random.nextBytes(buf);
            System.arraycopy(x, 0, buf, 3, 32);
            assertTrue(check.isLowOrderX(buf, (short) 3), "candidate " + k);
            // one bit away from a candidate, in every byte: not low order
            for (int i = 0; i < 32; i++) {
                byte[] near = x.clone();
                near[i] ^= (byte) (1 << random.nextInt(8));
                assertFalse(check.isLowOrderX(near, (short) 0), "candidate " + k + " with byte " + i + " changed");
            }
        }
        assertFalse(check.isLowOrderX(WeiMath.fixed(WeiMath.GX), (short) 0));
        assertFalse(check.isLowOrderX(new byte[32], (short) 0));
        for (int i = 0; i < 200; i++) {
            assertFalse(check.isLowOrderX(WeiMath.fixed(randomBelowP(random, i)), (short) 0));
        }
    }

    /** u(2P) from u(P) with x-only Montgomery doubling (curve or twist); null for the identity. */
    private static BigInteger montgomeryDoubleU(BigInteger u) {
        BigInteger p = WeiMath.P;
        BigInteger u2 = u.multiply(u).mod(p);
        BigInteger numerator = u2.subtract(BigInteger.ONE).pow(2).mod(p);
        BigInteger denominator = u.shiftLeft(2).multiply(u2.add(WeiMath.MONTGOMERY_A.multiply(u)).add(BigInteger.ONE)).mod(p);
        return denominator.signum() == 0 ? null : numerator.multiply(denominator.modInverse(p)).mod(p);
    }

    /** Random values below p, with the edges (0, 1, p-1, numbers with long runs of FF) mixed in. */
    private static BigInteger randomBelowP(Random random, int i) {
        switch (i % 6) {
            case 0:
                return WeiMath.P.subtract(BigInteger.ONE);
            case 1:
                return BigInteger.valueOf(i % 2);
            case 2:
                return WeiMath.P.subtract(BigInteger.valueOf(random.nextInt(1000) + 1));
            default:
                return new BigInteger(255, random).mod(WeiMath.P);
        }
    }
}

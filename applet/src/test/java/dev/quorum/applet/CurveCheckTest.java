package dev.quorum.applet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.licel.jcardsim.smartcardio.CardSimulator;
import java.math.BigInteger;
import java.util.Random;
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

package dev.quorum.cardfarm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class AtrTest {
    private final byte[] atr = Atr.bytes();

    @Test
    void checkByteMakesTheXorFromT0Zero() {
        byte x = 0;
        for (int i = 1; i < atr.length; i++) {
            x ^= atr[i];
        }
        assertEquals(0, x);
    }

    @Test
    void offersOnlyT1() {
        assertEquals(0x3B, atr[0] & 0xFF, "direct convention");
        assertEquals(0x80, atr[1] & 0xF0, "only TD1 follows T0");
        assertEquals(0x81, atr[2] & 0xFF, "TD1: T=1, TD2 follows");
        assertEquals(0x31, atr[3] & 0xFF, "TD2: T=1, TA3 and TB3 follow");
    }

    @Test
    void historicalBytesCountMatchesT0AndNameTheSimulator() {
        int k = atr[1] & 0x0F;
        int historicalStart = 6;
        assertEquals(historicalStart + k + 1, atr.length);
        assertTrue(atr.length <= 33, "an ATR has at most 33 bytes");
        byte[] name = Arrays.copyOfRange(atr, historicalStart + 2, historicalStart + k);
        assertEquals("QuorumSim", new String(name, StandardCharsets.US_ASCII));
    }
}

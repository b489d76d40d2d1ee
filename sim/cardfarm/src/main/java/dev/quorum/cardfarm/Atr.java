package dev.quorum.cardfarm;

import java.nio.charset.StandardCharsets;

/**
 * The ATR every simulated card answers with. T=1 only (TD1 = 81, TD2 = 31 with IFSC 254),
 * because vpcd reports every exchange as T=1; the historical bytes say "QuorumSim" so a
 * person running pcsc_scan can tell a simulated card from a real one.
 */
final class Atr {
    private Atr() {}

    /** The ATR bytes, with the check byte TCK computed rather than written down. */
    static byte[] bytes() {
        byte[] name = "QuorumSim".getBytes(StandardCharsets.US_ASCII);
        byte[] historical = new byte[2 + name.length];
        historical[0] = (byte) 0x80; // category indicator: compact-TLV objects follow
        historical[1] = (byte) (0x50 | name.length); // tag 5 (card issuer's data), length
        System.arraycopy(name, 0, historical, 2, name.length);

        byte[] head = {
            0x3B, // TS: direct convention
            (byte) (0x80 | historical.length), // T0: TD1 follows, K historical bytes
            (byte) 0x81, // TD1: TD2 follows, T=1
            0x31, // TD2: TA3 and TB3 follow, T=1
            (byte) 0xFE, // TA3: IFSC 254
            0x45, // TB3: BWI 4, CWI 5
        };
        byte[] atr = new byte[head.length + historical.length + 1];
        System.arraycopy(head, 0, atr, 0, head.length);
        System.arraycopy(historical, 0, atr, head.length, historical.length);
        byte tck = 0;
        for (int i = 1; i < atr.length - 1; i++) {
            tck ^= atr[i];
        }
        atr[atr.length - 1] = tck;
        return atr;
    }
}

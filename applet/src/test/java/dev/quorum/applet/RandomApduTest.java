package dev.quorum.applet;

import static dev.quorum.applet.SimCard.PIN;
import static dev.quorum.applet.SimCard.pinBlock;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import javax.smartcardio.CommandAPDU;
import javax.smartcardio.ResponseAPDU;
import org.junit.jupiter.api.Test;

/**
 * A long seeded mix of valid, nearly valid and random APDUs, resets and re-selections: the card
 * must never answer 6F00 or any status word that apdu-spec/README.md does not list.
 * <p>
 * Random data is at most 254 bytes: Lc = 255 together with Le makes a 261-byte APDU, which
 * jcardsim's 260-byte APDU buffer answers with 6F00 before the applet runs.
 */
class RandomApduTest {

    private static final long SEED = 0x51554F52554DL;
    private static final int STEPS = 20000;
    private static final Set<Integer> DOCUMENTED = Set.of(0x9000, 0x6700, 0x6883, 0x6884, 0x6982, 0x6983,
            0x6985, 0x6A80, 0x6A84, 0x6A86, 0x6D00, 0x6E00);

    private final Random random = new Random(SEED);
    private final Map<String, Integer> seen = new TreeMap<>();
    private byte[][] points;

    @Test
    void neverAnUndocumentedStatusWord() {
        points = new byte[4][];
        for (int i = 0; i < points.length; i++) {
            points[i] = WeiMath.encode(WeiMath.multiply(BigInteger.valueOf(7L * i + 3), WeiMath.G));
        }
        SimCard card = SimCard.blank();
        for (int step = 0; step < STEPS; step++) {
            int choice = random.nextInt(100);
            if (choice < 2) {
                card.sim.reset();
                check(step, "SELECT after reset", card.select());
                continue;
            }
            CommandAPDU command = next(choice);
            check(step, hex(command.getBytes()), card.transmit(command));
        }
        for (String expected : new String[] {"9000", "61xx", "63Cx", "6700", "6883", "6884", "6982", "6983",
            "6985", "6A80", "6A84", "6A86", "6D00", "6E00"}) {
            assertTrue(seen.containsKey(expected), "the random walk never reached " + expected + ": " + seen);
        }
    }

    private void check(int step, String command, ResponseAPDU response) {
        int sw = response.getSW();
        boolean ok = DOCUMENTED.contains(sw) || (sw & 0xFF00) == 0x6100 || (sw >= 0x63C0 && sw <= 0x63CA);
        if (!ok) {
            fail(String.format("step %d: %s answered %04X", step, command, sw));
        }
        String key = (sw & 0xFF00) == 0x6100 ? "61xx" : (sw & 0xFFF0) == 0x63C0 ? "63Cx" : String.format("%04X", sw);
        seen.merge(key, 1, Integer::sum);
    }

    private CommandAPDU next(int choice) {
        if (choice < 5) {
            return new CommandAPDU(0x00, 0xA4, 0x04, 0x00, random.nextInt(4) == 0 ? bytes(8) : SimCard.AID_BYTES, le());
        }
        if (choice < 12) {
            return new CommandAPDU(0x80, 0x10, p(0), p(0), le());
        }
        if (choice < 18) {
            byte[] data = new byte[13];
            data[0] = (byte) (random.nextInt(5) == 0 ? random.nextInt(256) : 3 + random.nextInt(8));
            System.arraycopy(pin(), 0, data, 1, 12);
            return new CommandAPDU(0x80, 0x12, p(0), p(0), random.nextInt(8) == 0 ? bytes(random.nextInt(20)) : data, le());
        }
        if (choice < 32) {
            int p1 = random.nextInt(6) == 0 ? 0xFF : p(0);
            if (random.nextInt(4) == 0) {
                return new CommandAPDU(0x00, 0x20, p1, p(0x81), le());
            }
            return new CommandAPDU(0x00, 0x20, p1, p(0x81), pin());
        }
        if (choice < 36) {
            byte[] data = new byte[24];
            System.arraycopy(pin(), 0, data, 0, 12);
            System.arraycopy(pin(), 0, data, 12, 12);
            return new CommandAPDU(0x00, 0x24, p(0), p(0x81), data);
        }
        if (choice < 52) {
            int cla = random.nextBoolean() ? 0x90 : 0x80;
            byte[] data;
            if (random.nextInt(3) == 0) {
                int pub = random.nextInt(5) == 0 ? random.nextInt(65536) : 1 + random.nextInt(300);
                int sealed = random.nextInt(5) == 0 ? random.nextInt(65536) : 1 + random.nextInt(100);
                data = Arrays.copyOf(SimCard.stream(bytes(pub), bytes(sealed)), 4 + random.nextInt(252));
            } else {
                data = bytes(random.nextInt(256));
            }
            return new CommandAPDU(cla, 0x14, p(0), p(0), data);
        }
        if (choice < 60) {
            return new CommandAPDU(0x80, 0x16, random.nextInt(8) == 0 ? random.nextInt(256) : random.nextInt(2), p(0), le());
        }
        if (choice < 66) {
            byte[] point = points[random.nextInt(points.length)].clone();
            if (random.nextInt(3) == 0) {
                point[random.nextInt(65)] ^= (byte) (1 + random.nextInt(255));
            }
            if (random.nextInt(8) == 0) {
                point = Arrays.copyOf(point, random.nextInt(80));
            }
            return new CommandAPDU(0x80, 0x18, random.nextBoolean() ? p(0) : p(1), p(0), point, le());
        }
        if (choice < 68) {
            return new CommandAPDU(0x80, 0x1E, p(0xAA), p(0x55));
        }
        if (choice < 70) {
            return new CommandAPDU(0x80, 0x1C, p(0), p(0), le());
        }
        if (choice < 80) {
            return new CommandAPDU(0x00, 0xC0, p(0), p(0), le());
        }
        int[] classes = {0x00, 0x10, 0x80, 0x90, random.nextInt(256)};
        int[] instructions = {0x10, 0x12, 0x14, 0x16, 0x18, 0x1C, 0x1E, 0x20, 0x24, 0xA4, 0xC0, random.nextInt(256)};
        int cla = classes[random.nextInt(classes.length)];
        int ins = instructions[random.nextInt(instructions.length)];
        byte[] data = bytes(random.nextInt(3) == 0 ? 0 : random.nextInt(255));
        return random.nextBoolean()
                ? new CommandAPDU(cla, ins, random.nextInt(256), random.nextInt(256), data)
                : new CommandAPDU(cla, ins, random.nextInt(256), random.nextInt(256), data, le());
    }

    /** Mostly the right PIN, sometimes a wrong or malformed one. */
    private byte[] pin() {
        int r = random.nextInt(10);
        if (r < 6) {
            return pinBlock(PIN);
        }
        if (r < 8) {
            return pinBlock(String.valueOf(100000 + random.nextInt(900000)));
        }
        return bytes(12);
    }

    /** Usually the right P1/P2, sometimes any. */
    private int p(int right) {
        return random.nextInt(12) == 0 ? random.nextInt(256) : right;
    }

    private int le() {
        return random.nextInt(4) == 0 ? 1 + random.nextInt(256) : 256;
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static String hex(byte[] b) {
        return SimCard.HEX.formatHex(b);
    }
}

package dev.quorum.applet;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.quorum.applet.CardModel.Apdu;
import java.math.BigInteger;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import javax.smartcardio.ResponseAPDU;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A seeded fuzz campaign against the applet in jcardsim: valid commands for whatever state the
 * card is in, the same commands mutated (bit and byte flips, wrong CLA/P1/P2, the chaining bit,
 * data cut or lengthened, Le changed), random APDUs, PUT RECORD chains, PIN guessing bursts, card
 * resets and re-selections. After every APDU:
 * <ul>
 * <li>the status word is documented (apdu-spec/README.md) and never 6F00;</li>
 * <li>status word and response bytes are exactly what {@link CardModel} (apdu-spec/ as code)
 *     predicts;</li>
 * <li>whenever no chain or pending output would be disturbed, GET STATUS is read and the
 *     life-cycle invariants are checked on what the card itself reports, independently of the
 *     model: the state moves only BLANK → PERSONALISED → ENROLLED, or to BLANK by FACTORY RESET;
 *     tries left never grow except by a correct PIN or a new INITIALISE; a blocked card stays
 *     blocked until FACTORY RESET; limit, key and record change only by the commands that may
 *     change them (the key: INITIALISE, or PUT RECORD P1=01 after PREPARE KEY); the pending-key
 *     flag appears only by PREPARE KEY and goes only by PUT RECORD P1=01 or FACTORY RESET;</li>
 * <li>the PIN cannot be bypassed: every success of a command the security matrix protects by
 *     the PIN (PUT RECORD, GET RECORD sealed, UNSEAL, PREPARE KEY) follows a VERIFY or CHANGE REFERENCE DATA
 *     with the right PIN since the last SELECT or reset, and no VERIFY or CHANGE REFERENCE DATA
 *     with any other PIN ever succeeds.</li>
 * </ul>
 * CI runs the fixed seeds below. A long run: {@code -Dquorum.fuzz.apdus=N [-Dquorum.fuzz.seed=S]
 * [-Dquorum.fuzz.capacity=C]} (scripts/fuzz-applet); S is decimal or 0x-hex, and is printed.
 */
class FuzzCampaignTest {

    /** Fixed seeds for CI: seed, APDUs, record capacity. */
    private static final long[][] CI_CAMPAIGNS = {
        {0x51554F52554DL, 40_000, 1024},
        {20240611L, 40_000, 512},
        {7L, 30_000, 8192},
    };
    private static final int HISTORY = 40;

    static Stream<Arguments> campaigns() {
        String apdus = System.getProperty("quorum.fuzz.apdus", "");
        if (!apdus.isBlank()) {
            String seed = System.getProperty("quorum.fuzz.seed", "");
            long s = seed.isBlank() ? System.nanoTime() : seed.startsWith("0x")
                    ? Long.parseLong(seed.substring(2), 16) : Long.parseLong(seed);
            int capacity = Integer.parseInt(System.getProperty("quorum.fuzz.capacity", "1024"));
            return Stream.of(Arguments.of(s, Integer.parseInt(apdus.replace("_", "")), capacity));
        }
        return Arrays.stream(CI_CAMPAIGNS).map(c -> Arguments.of(c[0], (int) c[1], (int) c[2]));
    }

    @ParameterizedTest(name = "seed {0}, {1} APDUs, capacity {2}")
    @MethodSource("campaigns")
    void campaign(long seed, int apdus, int capacity) {
        new Campaign(seed, capacity).run(apdus);
    }

    /** One seeded campaign on one fresh card. */
    private static final class Campaign {
        private final long seed;
        private final Random random;
        private final SimCard card;
        private final CardModel model;
        private final List<byte[]> goodPoints = new ArrayList<>();
        private final List<byte[]> badPoints = new ArrayList<>();
        private final Deque<String> history = new ArrayDeque<>();
        private final Map<String, Integer> statusWords = new TreeMap<>();
        private final Map<String, Integer> commands = new TreeMap<>();
        private final Invariants invariants = new Invariants();
        private final PinGate gate = new PinGate();
        private List<Apdu> plan = new ArrayList<>();
        private int burst;
        private int lastRemaining = 256;
        private long sent;
        private long probes;
        private long resets;
        private long step;

        Campaign(long seed, int capacity) {
            this.seed = seed;
            this.random = new Random(seed);
            this.card = SimCard.withParameters(SimCard.capacityParameters(capacity));
            this.model = new CardModel(capacity, SimCard.AID_BYTES);
            Random points = new Random(seed ^ 0x5DEECE66DL);
            for (int i = 0; i < 4; i++) {
                BigInteger t = i == 0 ? BigInteger.ONE : WeiMath.randomScalar(points);
                byte[] p = WeiMath.encode(WeiMath.multiply(t, WeiMath.G));
                model.knowPoint(p, t);
                goodPoints.add(p);
            }
            BigInteger[] torsion = WeiMath.torsionPointOfOrder8();
            badPoints.add(WeiMath.encode(torsion));
            badPoints.add(WeiMath.encode(WeiMath.multiply(BigInteger.valueOf(4), torsion)));
            badPoints.add(WeiMath.encode(WeiMath.add(WeiMath.multiply(WeiMath.randomScalar(points), WeiMath.G), torsion)));
            byte[] offCurve = goodPoints.get(1).clone();
            offCurve[64] ^= 1;
            badPoints.add(offCurve);
        }

        void run(int apdus) {
            long start = System.nanoTime();
            exchange(select(), false);
            while (step < apdus) {
                step++;
                if (random.nextInt(1000) < 8) {
                    powerCycle();
                    continue;
                }
                exchange(next(), false);
                if (!model.chainActive() && !model.outputPending()) {
                    probe();
                }
                if (apdus >= 500_000 && step % 250_000 == 0) {
                    System.out.printf("fuzz seed %d: %,d campaign steps so far%n", seed, step);
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            report(seconds);
            for (String sw : List.of("9000", "61xx", "63Cx", "6700", "6883", "6884", "6982", "6983", "6985",
                    "6A80", "6A84", "6A86", "6D00", "6E00")) {
                assertTrue(statusWords.containsKey(sw), "seed " + seed + " never reached " + sw + ": " + statusWords);
            }
            assertTrue(invariants.statesSeen == 0b111 && invariants.blockedSeen,
                    "seed " + seed + " did not visit every state and a blocked PIN");
            assertTrue(gate.protectedSuccesses > 0, "seed " + seed + " never ran a PIN-protected command");
            assertTrue(invariants.renewalsSeen > 0, "seed " + seed + " never renewed the key (PUT RECORD P1=01)");
        }

        // ------------------------------------------------------------ sending and checking

        private void powerCycle() {
            card.sim.reset();
            model.reset();
            gate.sessionEnds();
            resets++;
            remember("-- card reset --");
            exchange(select(), false);
        }

        private void probe() {
            probes++;
            ResponseAPDU r = exchange(new Apdu(0x80, 0x10, 0x00, 0x00, null, 0), true);
            if (r.getSW() == 0x9000) {
                String violation = invariants.check(r.getData());
                if (violation != null) {
                    failHere(violation);
                }
            }
        }

        private ResponseAPDU exchange(Apdu apdu, boolean probe) {
            CardModel.Expected expected = model.process(apdu);
            ResponseAPDU r = card.transmit(apdu.encode());
            sent++;
            int sw = r.getSW();
            remember("> " + apdu + "\n  < " + SimCard.HEX.formatHex(r.getData()) + " " + String.format("%04X", sw));
            String key = (sw & 0xFF00) == 0x6100 ? "61xx" : (sw & 0xFFF0) == 0x63C0 ? "63Cx" : String.format("%04X", sw);
            statusWords.merge(key, 1, Integer::sum);
            if (!probe) {
                commands.merge(name(apdu.ins()), 1, Integer::sum);
            }
            if (!documented(sw)) {
                failHere("undocumented status word " + String.format("%04X", sw));
            }
            if (sw != expected.sw()) {
                failHere(String.format("expected %04X by apdu-spec, the card answered %04X", expected.sw(), sw));
            }
            String difference = model.compare(expected.data(), r.getData());
            if (difference != null) {
                failHere("response data: " + difference);
            }
            String violation = gate.observe(apdu, sw);
            if (violation == null) {
                violation = invariants.observe(apdu, sw);
            }
            if (violation != null) {
                failHere(violation);
            }
            if ((sw & 0xFF00) == 0x6100) {
                lastRemaining = (sw & 0xFF) == 0 ? 256 : sw & 0xFF;
            }
            return r;
        }

        private static String name(int ins) {
            return switch (ins) {
                case 0xA4 -> "SELECT";
                case 0x10 -> "GET STATUS";
                case 0x12 -> "INITIALISE";
                case 0x20 -> "VERIFY";
                case 0x24 -> "CHANGE REFERENCE DATA";
                case 0x14 -> "PUT RECORD";
                case 0x16 -> "GET RECORD";
                case 0x18 -> "UNSEAL";
                case 0x1C -> "PREPARE KEY";
                case 0x1E -> "FACTORY RESET";
                case 0xC0 -> "GET RESPONSE";
                default -> "other INS";
            };
        }

        private static boolean documented(int sw) {
            return switch (sw) {
                case 0x9000, 0x6700, 0x6883, 0x6884, 0x6982, 0x6983, 0x6985, 0x6A80, 0x6A84, 0x6A86, 0x6D00,
                     0x6E00 -> true;
                default -> (sw & 0xFF00) == 0x6100 || (sw >= 0x63C0 && sw <= 0x63CA);
            };
        }

        private void remember(String line) {
            history.addLast(line);
            if (history.size() > HISTORY) {
                history.removeFirst();
            }
        }

        private void failHere(String what) {
            fail(String.format("seed %d (-Dquorum.fuzz.seed=%d), APDU %d: %s%nlast exchanges:%n%s", seed, seed, step,
                    what, String.join("\n", history)));
        }

        private void report(double seconds) {
            System.out.printf("fuzz seed %d, capacity %d: %,d APDUs (%,d campaign steps, %,d GET STATUS invariant probes, "
                            + "%,d card resets) in %.1f s; %,d PIN-protected successes checked; %,d key renewals%n"
                            + "  status words %s%n  commands %s%n",
                    seed, model.capacity, sent, step, probes, resets, seconds, gate.protectedSuccesses,
                    invariants.renewalsSeen, statusWords, commands);
        }

        // ------------------------------------------------------------ the generator

        private Apdu next() {
            if (burst > 0) {
                burst--;
                return maybeMutate(verify(wrongPin()));
            }
            if (!plan.isEmpty()) {
                if (model.chainActive() ? random.nextInt(100) < 88 : random.nextInt(100) < 25) {
                    return maybeMutate(plan.remove(0), 4);
                }
                if (random.nextInt(4) == 0) {
                    plan.clear();
                }
            }
            if (random.nextInt(100) < 6) {
                return randomApdu();
            }
            return maybeMutate(template());
        }

        private Apdu template() {
            boolean blank = model.state == CardModel.BLANK;
            boolean enrolled = model.state == CardModel.ENROLLED;
            boolean open = model.validated;
            double[] weights = {
                3, // 0 SELECT
                3, // 1 GET STATUS
                blank ? 25 : 1, // 2 INITIALISE
                !blank && !open ? 15 : 2, // 3 VERIFY right PIN
                2, // 4 VERIFY wrong PIN
                1, // 5 VERIFY query
                1, // 6 VERIFY P1=FF
                2, // 7 CHANGE REFERENCE DATA
                open ? 8 : 1, // 8 PUT RECORD chain
                enrolled ? 6 : 1, // 9 GET RECORD
                model.outputPending() ? 12 : 1, // 10 GET RESPONSE
                enrolled && open ? 0.5 : 0.3, // 11 UNSEAL
                model.blocked() ? 3 : 0.4, // 12 FACTORY RESET
                0.3, // 13 PIN guessing burst
                enrolled && open ? 0.7 : 0.15, // 14 PREPARE KEY (key generation is slow in jcardsim)
            };
            double total = Arrays.stream(weights).sum();
            double r = random.nextDouble() * total;
            int choice = 0;
            while (r >= weights[choice]) {
                r -= weights[choice];
                choice++;
            }
            return switch (choice) {
                case 0 -> select();
                case 1 -> new Apdu(0x80, 0x10, 0x00, 0x00, null, le());
                case 2 -> initialise();
                case 3 -> verify(rightPin());
                case 4 -> verify(wrongPin());
                case 5 -> new Apdu(0x00, 0x20, 0x00, 0x81, null, -1);
                case 6 -> new Apdu(0x00, 0x20, 0xFF, 0x81, null, -1);
                case 7 -> changePin();
                case 8 -> startPlan();
                case 9 -> new Apdu(0x80, 0x16, random.nextInt(2), 0x00, null, le());
                case 10 -> new Apdu(0x00, 0xC0, 0x00, 0x00, null, random.nextInt(4) == 0 ? le() : lastRemaining);
                case 11 -> unseal();
                case 12 -> new Apdu(0x80, 0x1E, 0xAA, 0x55, null, -1);
                case 14 -> new Apdu(0x80, 0x1C, 0x00, 0x00, null, le());
                default -> {
                    burst = 2 + random.nextInt(10);
                    yield verify(wrongPin());
                }
            };
        }

        private Apdu select() {
            return new Apdu(0x00, 0xA4, 0x04, 0x00, SimCard.AID_BYTES, random.nextInt(5) == 0 ? -1 : 0);
        }

        private Apdu initialise() {
            byte[] data = new byte[13];
            data[0] = (byte) (3 + random.nextInt(8));
            System.arraycopy(SimCard.pinBlock(randomDigits()), 0, data, 1, 12);
            return new Apdu(0x80, 0x12, 0x00, 0x00, data, le());
        }

        private Apdu verify(byte[] block) {
            return new Apdu(0x00, 0x20, 0x00, 0x81, block, random.nextInt(10) == 0 ? le() : -1);
        }

        private Apdu changePin() {
            byte[] data = new byte[24];
            System.arraycopy(random.nextInt(5) == 0 ? wrongPin() : rightPin(), 0, data, 0, 12);
            System.arraycopy(SimCard.pinBlock(randomDigits()), 0, data, 12, 12);
            return new Apdu(0x00, 0x24, 0x00, 0x81, data, -1);
        }

        private Apdu unseal() {
            boolean good = random.nextInt(4) != 0;
            List<byte[]> from = good ? goodPoints : badPoints;
            int p1 = random.nextBoolean() ? 0x01 : 0x00;
            return new Apdu(0x80, 0x18, p1, 0x00, from.get(random.nextInt(from.size())), le());
        }

        /** Plans a whole PUT RECORD stream in pieces and returns the first piece. */
        private Apdu startPlan() {
            int capacity = model.capacity;
            int pub;
            int roll = random.nextInt(100);
            int sealed = 1 + random.nextInt(120);
            if (roll < 70) {
                pub = 1 + random.nextInt(300);
            } else if (roll < 85) {
                pub = 1 + random.nextInt(capacity - 1);
            } else if (roll < 95) {
                pub = Math.max(1, capacity - sealed);
            } else {
                pub = capacity - sealed + 1 + random.nextInt(100);
            }
            sealed = Math.min(sealed, Math.max(1, capacity - 1));
            // P1 = 01 (make the pending key active) mostly when there is one to make active
            int p1 = random.nextInt(100) < (model.keyPending ? 50 : 4) ? 0x01 : 0x00;
            byte[] stream = SimCard.stream(bytes(Math.min(pub, 65535)), bytes(sealed));
            plan = new ArrayList<>();
            int off = 0;
            while (off < stream.length) {
                int size = off == 0 ? 4 + random.nextInt(252) : random.nextInt(10) == 0 ? 0 : 1 + random.nextInt(255);
                int end = Math.min(stream.length, off + size);
                boolean last = end == stream.length;
                plan.add(new Apdu(last ? 0x80 : 0x90, 0x14, p1, 0x00, Arrays.copyOfRange(stream, off, end), -1));
                off = end;
                if (plan.size() > 80) {
                    break;
                }
            }
            return plan.remove(0);
        }

        private Apdu maybeMutate(Apdu apdu) {
            return maybeMutate(apdu, 25);
        }

        private Apdu maybeMutate(Apdu apdu, int percent) {
            if (random.nextInt(100) >= percent) {
                return apdu;
            }
            int count = 1 + random.nextInt(3);
            Apdu a = apdu;
            for (int i = 0; i < count; i++) {
                a = mutate(a);
            }
            return sane(a);
        }

        private Apdu mutate(Apdu a) {
            int cla = a.cla();
            int ins = a.ins();
            int p1 = a.p1();
            int p2 = a.p2();
            byte[] data = a.data() == null ? null : a.data().clone();
            int le = a.le();
            switch (random.nextInt(9)) {
                case 0 -> {
                    int bit = 1 << random.nextInt(8);
                    switch (random.nextInt(4)) {
                        case 0 -> cla ^= bit;
                        case 1 -> ins ^= bit;
                        case 2 -> p1 ^= bit;
                        default -> p2 ^= bit;
                    }
                }
                case 1 -> cla = new int[] {0x00, 0x10, 0x80, 0x90, 0x84, 0x0C, 0x01, 0xA0, random.nextInt(256)}[random.nextInt(9)];
                case 2 -> cla ^= 0x10;
                case 3 -> {
                    if (random.nextBoolean()) {
                        p1 = random.nextInt(256);
                    } else {
                        p2 = random.nextInt(256);
                    }
                }
                case 4 -> {
                    if (data != null) {
                        data[random.nextInt(data.length)] ^= (byte) (1 << random.nextInt(8));
                    }
                }
                case 5 -> {
                    if (data != null) {
                        data[random.nextInt(data.length)] = (byte) random.nextInt(256);
                    }
                }
                case 6 -> {
                    int length = data == null ? 0 : data.length;
                    int to = switch (random.nextInt(4)) {
                        case 0 -> 0;
                        case 1 -> Math.max(0, length - 1 - random.nextInt(4));
                        case 2 -> length + 1 + random.nextInt(4);
                        default -> random.nextInt(256);
                    };
                    byte[] grown = bytes(to);
                    if (data != null) {
                        System.arraycopy(data, 0, grown, 0, Math.min(to, data.length));
                    }
                    data = grown;
                }
                case 7 -> le = random.nextInt(3) == 0 ? -1 : 1 + random.nextInt(256);
                default -> ins = new int[] {0x10, 0x12, 0x14, 0x16, 0x18, 0x1C, 0x1E, 0x20, 0x24, 0xA4, 0xC0}[random.nextInt(11)];
            }
            return new Apdu(cla & 0xFF, ins & 0xFF, p1 & 0xFF, p2 & 0xFF, data, le);
        }

        private Apdu randomApdu() {
            int[] classes = {0x00, 0x10, 0x80, 0x90, random.nextInt(256)};
            int[] instructions = {0x10, 0x12, 0x14, 0x16, 0x18, 0x1C, 0x1E, 0x20, 0x24, 0xA4, 0xC0, random.nextInt(256)};
            byte[] data = random.nextInt(3) == 0 ? null : bytes(1 + random.nextInt(255));
            return sane(new Apdu(classes[random.nextInt(classes.length)], instructions[random.nextInt(instructions.length)],
                    random.nextInt(256), random.nextInt(256), data, random.nextBoolean() ? -1 : 1 + random.nextInt(256)));
        }

        /**
         * Keeps the APDU a well-formed short APDU that jcardsim can take (applet/README.md): Lc 255
         * with an Le byte overflows its 260-byte buffer (6F00 before the applet runs), and a
         * SELECT-by-name-shaped APDU with Lc of 128 or more makes its AID matching throw.
         */
        private static Apdu sane(Apdu a) {
            byte[] data = a.data();
            if (data != null && data.length > 255) {
                data = Arrays.copyOf(data, 255);
            }
            boolean selectShape = (a.cla() & 0xFC) == 0 && a.ins() == 0xA4 && a.p1() == 0x04 && (a.p2() & 0xE3) == 0;
            if (selectShape && data != null && data.length > 127) {
                data = Arrays.copyOf(data, 127);
            }
            int le = a.le();
            if (data != null && data.length == 255) {
                le = -1;
            }
            return new Apdu(a.cla(), a.ins(), a.p1(), a.p2(), data, le);
        }

        private int le() {
            int r = random.nextInt(100);
            if (r < 65) {
                return 0;
            }
            return r < 80 ? -1 : 1 + random.nextInt(80);
        }

        private byte[] rightPin() {
            return model.pin != null ? model.pin.clone() : SimCard.pinBlock(randomDigits());
        }

        private byte[] wrongPin() {
            byte[] block;
            do {
                block = SimCard.pinBlock(randomDigits());
            } while (Arrays.equals(block, model.pin));
            return block;
        }

        private String randomDigits() {
            StringBuilder s = new StringBuilder();
            int n = 6 + random.nextInt(7);
            for (int i = 0; i < n; i++) {
                s.append((char) ('0' + random.nextInt(10)));
            }
            return s.toString();
        }

        private byte[] bytes(int n) {
            byte[] b = new byte[n];
            random.nextBytes(b);
            return b;
        }
    }

    /**
     * The PIN gate, kept apart from the model: which PIN the card should have (from the host's own
     * successful INITIALISE and CHANGE REFERENCE DATA) and whether a right PIN was presented since
     * the last SELECT or reset. Only those two facts decide whether a protected command may succeed.
     */
    private static final class PinGate {
        byte[] pin;
        boolean presented;
        long protectedSuccesses;

        void sessionEnds() {
            presented = false;
        }

        /** Returns a violation, or null. */
        String observe(Apdu a, int sw) {
            boolean success = sw == 0x9000 || (sw & 0xFF00) == 0x6100;
            boolean selection = (a.cla() & 0xFC) == 0 && a.ins() == 0xA4 && a.p1() == 0x04 && (a.p2() & 0xE3) == 0
                    && success;
            if (selection) {
                presented = false;
                return null;
            }
            if (!success) {
                return null;
            }
            boolean proprietary = (a.cla() & ~0x10) == 0x80;
            boolean iso = a.cla() == 0x00;
            if (iso && a.ins() == 0x20 && a.data() != null) {
                if (!Arrays.equals(a.data(), pin)) {
                    return "VERIFY with a PIN other than the card's succeeded";
                }
                presented = true;
            } else if (iso && a.ins() == 0x20 && a.p1() == 0xFF) {
                presented = false;
            } else if (iso && a.ins() == 0x24) {
                if (!Arrays.equals(Arrays.copyOf(a.data(), 12), pin)) {
                    return "CHANGE REFERENCE DATA with a wrong old PIN succeeded";
                }
                pin = Arrays.copyOfRange(a.data(), 12, 24);
                presented = true;
            } else if (proprietary && a.ins() == 0x12) {
                pin = Arrays.copyOfRange(a.data(), 1, 13);
                presented = false;
            } else if (proprietary && a.ins() == 0x1E) {
                pin = null;
                presented = false;
            } else if (proprietary && (a.ins() == 0x14 || (a.ins() == 0x16 && a.p1() == 0x01) || a.ins() == 0x18
                    || a.ins() == 0x1C)) {
                protectedSuccesses++;
                if (!presented) {
                    return "a PIN-protected command succeeded without the right PIN since the last SELECT or reset";
                }
            }
            return null;
        }
    }

    /**
     * Life-cycle invariants on GET STATUS answers, with the commands seen since the previous one:
     * only those may explain a change.
     */
    private static final class Invariants {
        private byte[] previous;
        private boolean initialised;
        private boolean committed;
        private boolean reset;
        private boolean rightPin;
        private boolean prepared;
        private boolean renewed;
        int statesSeen;
        boolean blockedSeen;
        long renewalsSeen;

        /** Notes what a successful command may change; returns a violation, or null. */
        String observe(Apdu a, int sw) {
            boolean success = sw == 0x9000 || (sw & 0xFF00) == 0x6100;
            if (!success || (a.cla() & 0xFC) == 0 && a.ins() == 0xA4) {
                return null;
            }
            int base = a.cla() & ~0x10;
            if (base == 0x80 && a.ins() == 0x12) {
                initialised = true;
            } else if (a.cla() == 0x80 && a.ins() == 0x14) {
                committed = true;
                if (a.p1() == 0x01) {
                    renewed = true;
                    renewalsSeen++;
                }
            } else if (base == 0x80 && a.ins() == 0x1C) {
                prepared = true;
            } else if (base == 0x80 && a.ins() == 0x1E) {
                reset = true;
            } else if (a.cla() == 0x00 && (a.ins() == 0x20 || a.ins() == 0x24) && a.data() != null) {
                rightPin = true;
            }
            return null;
        }

        /** Checks a GET STATUS answer against the previous one; returns a violation, or null. */
        String check(byte[] status) {
            int state = status[0];
            statesSeen |= 1 << state;
            boolean blocked = (status[1] & 1) != 0;
            blockedSeen |= blocked;
            if (state != CardModel.BLANK
                    && (status[10] != 65 || !WeiMath.onCurve(WeiMath.decode(Arrays.copyOfRange(status, 11, 76))))) {
                return "the card's public key is not a point on the curve";
            }
            String violation = previous == null ? null : compare(previous, status);
            if (violation != null) {
                return "life-cycle invariant broken: " + violation + "\n  before " + SimCard.HEX.formatHex(previous)
                        + "\n  after  " + SimCard.HEX.formatHex(status);
            }
            previous = status.clone();
            initialised = false;
            committed = false;
            reset = false;
            rightPin = false;
            prepared = false;
            renewed = false;
            return null;
        }

        private String compare(byte[] before, byte[] after) {
            int from = before[0];
            int to = after[0];
            boolean stateOk = to == from || (to == CardModel.BLANK && reset)
                    || (to == CardModel.PERSONALISED && initialised)
                    || (to == CardModel.ENROLLED && committed && (from == CardModel.PERSONALISED || initialised));
            if (!stateOk) {
                return "state " + from + " -> " + to;
            }
            boolean fresh = reset || initialised;
            if (!fresh && from != CardModel.BLANK) {
                int triesBefore = before[2];
                int triesAfter = after[2];
                if (triesAfter > triesBefore && !rightPin) {
                    return "tries left grew from " + triesBefore + " to " + triesAfter + " without the right PIN";
                }
                if ((before[1] & 1) != 0 && (after[1] & 1) == 0) {
                    return "a blocked PIN was unblocked without FACTORY RESET";
                }
                if (before[3] != after[3]) {
                    return "retry limit changed without INITIALISE";
                }
                if (!renewed && !Arrays.equals(Arrays.copyOfRange(before, 10, 76), Arrays.copyOfRange(after, 10, 76))) {
                    return "key changed without INITIALISE or PUT RECORD P1=01";
                }
                boolean pendingBefore = (before[1] & 4) != 0;
                boolean pendingAfter = (after[1] & 4) != 0;
                if (!pendingBefore && pendingAfter && !prepared) {
                    return "a pending key appeared without PREPARE KEY";
                }
                if (pendingBefore && !pendingAfter && !renewed) {
                    return "a pending key vanished without PUT RECORD P1=01 or FACTORY RESET";
                }
                if (renewed && !prepared && pendingAfter) {
                    return "PUT RECORD P1=01 committed but a key is still pending";
                }
                if (renewed && Arrays.equals(Arrays.copyOfRange(before, 11, 76), Arrays.copyOfRange(after, 11, 76))) {
                    return "PUT RECORD P1=01 committed but the key did not change";
                }
                if (!committed && !Arrays.equals(Arrays.copyOfRange(before, 6, 10), Arrays.copyOfRange(after, 6, 10))) {
                    return "record lengths changed without PUT RECORD";
                }
            }
            return null;
        }
    }
}

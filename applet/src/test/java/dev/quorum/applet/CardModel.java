package dev.quorum.applet;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * What a conforming card answers, written from apdu-spec/ alone (never from the applet's code),
 * so that a fuzz campaign can predict every status word and every response byte and hold the
 * card to it. It keeps the whole card state a host could ever observe: life-cycle, PIN, tries,
 * validated flag, record, the public key and the pending key of PREPARE KEY (both learned from
 * the card's own answers, since they are generated on the card), a PUT RECORD chain in progress
 * and pending 61xx output.
 * <p>
 * Response bytes are predicted as cells: 0..255 a byte, {@link #KEY} + i byte i of the public
 * key, {@link #PENDING_KEY} + i byte i of the pending key, {@link #ANY} a byte the model cannot
 * know (the result of UNSEAL for a point whose discrete logarithm the campaign does not know).
 */
final class CardModel {

    static final int BLANK = 0;
    static final int PERSONALISED = 1;
    static final int ENROLLED = 2;
    static final int ANY = -1;
    static final int KEY = 1000;
    static final int PENDING_KEY = 2000;
    private static final int[] NONE = new int[0];

    /** One short command APDU; data null = no Lc; le -1 = no Le, 0 or 256 = Le byte 00, else 1..255. */
    record Apdu(int cla, int ins, int p1, int p2, byte[] data, int le) {

        Apdu {
            if (data != null && data.length == 0) {
                data = null;
            }
        }

        int lc() {
            return data == null ? 0 : data.length;
        }

        /** The short APDU on the wire (case 1 to 4). */
        byte[] encode() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write(cla);
            out.write(ins);
            out.write(p1);
            out.write(p2);
            if (data != null) {
                out.write(data.length);
                out.writeBytes(data);
            }
            if (le >= 0) {
                out.write(le & 0xFF);
            }
            return out.toByteArray();
        }

        @Override
        public String toString() {
            return SimCard.HEX.formatHex(encode());
        }
    }

    /** A predicted answer. */
    record Expected(int sw, int[] data) {
    }

    final int capacity;
    final byte[] aid;
    int state = BLANK;
    byte[] pin;
    int limit;
    int tries;
    boolean validated;
    byte[] pub;
    byte[] sealed;
    /** The public key, -1 where not yet seen; all -1 in BLANK. */
    final int[] key = new int[65];
    /** Whether a pending key exists (PREPARE KEY), and its bytes, -1 where not yet seen. */
    boolean keyPending;
    final int[] pendingKey = new int[65];
    /** PUT RECORD chain in progress (null if none), its announced lengths and the P1 of its first APDU. */
    ByteArrayOutputStream chain;
    int chainPublic;
    int chainSealed;
    int chainP1;
    /** Output waiting for GET RESPONSE (null if none). */
    int[] pending;
    int pendingOffset;

    /** Points whose discrete logarithm t (P = t*G) the campaign knows, by their encoding. */
    private final Map<String, BigInteger> logs = new HashMap<>();
    /** x(t * K) for the current key K, by t. */
    private final Map<BigInteger, byte[]> products = new HashMap<>();

    CardModel(int capacity, byte[] aid) {
        this.capacity = capacity;
        this.aid = aid.clone();
        Arrays.fill(key, -1);
        Arrays.fill(pendingKey, -1);
    }

    /** Tells the model a point's discrete logarithm, so that it can predict UNSEAL's answer. */
    void knowPoint(byte[] point, BigInteger t) {
        logs.put(SimCard.HEX.formatHex(point), t);
    }

    boolean chainActive() {
        return chain != null;
    }

    boolean outputPending() {
        return pending != null;
    }

    boolean blocked() {
        return state != BLANK && tries == 0;
    }

    /** A card reset: the session ends (validated state, chain, pending output). */
    void reset() {
        validated = false;
        chain = null;
        pending = null;
    }

    /** Predicts the answer to one APDU and moves the model to the state after it. */
    Expected process(Apdu a) {
        if (selects(a)) {
            reset();
            return respond(selectCells(), a);
        }
        // the common checks (README.md, "Checks happen in this order")
        if (a.cla() != 0x00 || a.ins() != 0xC0) {
            pending = null;
        }
        int base = a.cla() & ~0x10;
        int insClass = classOf(a.ins());
        if ((base != 0x00 && base != 0x80) || (insClass >= 0 && insClass != base)) {
            return error(0x6E00);
        }
        if (chain != null && a.ins() != 0x14) {
            return error(0x6883);
        }
        if ((a.cla() & 0x10) != 0 && a.ins() != 0x14) {
            return error(0x6884);
        }
        return switch (a.ins()) {
            case 0xA4 -> a.p1() != 0x04 || a.p2() != 0x00 ? error(0x6A86) : error(0x6A80);
            case 0x10 -> getStatus(a);
            case 0x12 -> initialise(a);
            case 0x20 -> verify(a);
            case 0x24 -> changeReferenceData(a);
            case 0x14 -> putRecord(a);
            case 0x16 -> getRecord(a);
            case 0x18 -> unseal(a);
            case 0x1C -> prepareKey(a);
            case 0x1E -> factoryReset(a);
            case 0xC0 -> getResponse(a);
            default -> error(0x6D00);
        };
    }

    /**
     * Whether the card's runtime treats the APDU as selecting this applet: CLA 00..03, INS A4,
     * P1 04, P2 with only its "occurrence/response" bits, and no AID or a prefix of the AID
     * (select.md: the runtime decides; this is jcardsim's rule, the only applet installed).
     */
    private boolean selects(Apdu a) {
        if ((a.cla() & 0xFC) != 0 || a.ins() != 0xA4 || a.p1() != 0x04 || (a.p2() & 0xE3) != 0) {
            return false;
        }
        byte[] d = a.data();
        return d == null || (d.length <= aid.length && Arrays.equals(d, Arrays.copyOf(aid, d.length)));
    }

    private static int classOf(int ins) {
        return switch (ins) {
            case 0xA4, 0x20, 0x24, 0xC0 -> 0x00;
            case 0x10, 0x12, 0x14, 0x16, 0x18, 0x1C, 0x1E -> 0x80;
            default -> -1;
        };
    }

    /** Any error status: the chain is aborted and pending output dropped. */
    private Expected error(int sw) {
        chain = null;
        pending = null;
        return new Expected(sw, NONE);
    }

    private Expected ok() {
        return new Expected(0x9000, NONE);
    }

    private Expected respond(int[] cells, Apdu a) {
        pending = cells;
        pendingOffset = 0;
        return send(a);
    }

    private Expected send(Apdu a) {
        int ne = a.le() <= 0 ? 256 : a.le();
        int remaining = pending.length - pendingOffset;
        int count = Math.min(ne, remaining);
        int[] out = Arrays.copyOfRange(pending, pendingOffset, pendingOffset + count);
        pendingOffset += count;
        remaining -= count;
        if (remaining == 0) {
            pending = null;
            return new Expected(0x9000, out);
        }
        return new Expected(0x6100 | (remaining > 255 ? 0 : remaining), out);
    }

    private static boolean p1p2(Apdu a, int p1, int p2) {
        return a.p1() == p1 && a.p2() == p2;
    }

    /**
     * select.md (1.4): version 01 04, capabilities 7F, state, capacity, the GET STATUS response
     * and, when ENROLLED, the record header: public bytes 4..22 and the sealed part's first 32,
     * zero-padded where a part is shorter, then the public digest, SHA-256 of the public part.
     */
    private int[] selectCells() {
        int[] status = statusCells();
        int[] header = state == ENROLLED ? headerCells() : NONE;
        int[] cells = new int[6 + status.length + header.length];
        int[] head = {1, 4, 0x7F, state, (capacity >> 8) & 0xFF, capacity & 0xFF};
        System.arraycopy(head, 0, cells, 0, 6);
        System.arraycopy(status, 0, cells, 6, status.length);
        System.arraycopy(header, 0, cells, 6 + status.length, header.length);
        return cells;
    }

    private int[] headerCells() {
        int[] cells = new int[51 + 32];
        for (int i = 0; i < 19; i++) {
            cells[i] = 4 + i < pub.length ? pub[4 + i] & 0xFF : 0;
        }
        for (int i = 0; i < 32; i++) {
            cells[19 + i] = i < sealed.length ? sealed[i] & 0xFF : 0;
        }
        byte[] digest = SimCard.sha256(pub);
        for (int i = 0; i < 32; i++) {
            cells[51 + i] = digest[i] & 0xFF;
        }
        return cells;
    }

    private Expected getStatus(Apdu a) {
        if (!p1p2(a, 0, 0)) {
            return error(0x6A86);
        }
        if (a.lc() != 0) {
            return error(0x6700);
        }
        return respond(statusCells(), a);
    }

    /** get-status.md: 11 bytes in BLANK, 76 otherwise. */
    private int[] statusCells() {
        int[] cells = new int[state == BLANK ? 11 : 76];
        cells[0] = state;
        cells[4] = (capacity >> 8) & 0xFF;
        cells[5] = capacity & 0xFF;
        if (state != BLANK) {
            cells[1] = (tries == 0 ? 1 : 0) | (validated ? 2 : 0) | (keyPending ? 4 : 0);
            cells[2] = tries;
            cells[3] = limit;
            if (state == ENROLLED) {
                cells[6] = pub.length >> 8;
                cells[7] = pub.length & 0xFF;
                cells[8] = sealed.length >> 8;
                cells[9] = sealed.length & 0xFF;
            }
            cells[10] = 65;
            for (int i = 0; i < 65; i++) {
                cells[11 + i] = KEY + i;
            }
        }
        return cells;
    }

    /** PIN rules: 6..12 digits, left-justified, FF padding, nothing after the padding. */
    static boolean wellFormed(byte[] block, int off) {
        int digits = 0;
        boolean padding = false;
        for (int i = 0; i < 12; i++) {
            int c = block[off + i] & 0xFF;
            if (c == 0xFF) {
                padding = true;
            } else if (!padding && c >= 0x30 && c <= 0x39) {
                digits++;
            } else {
                return false;
            }
        }
        return digits >= 6;
    }

    private Expected initialise(Apdu a) {
        if (!p1p2(a, 0, 0)) {
            return error(0x6A86);
        }
        if (state != BLANK) {
            return error(0x6985);
        }
        if (a.lc() != 13) {
            return error(0x6700);
        }
        int newLimit = a.data()[0] & 0xFF;
        if (newLimit < 3 || newLimit > 10 || !wellFormed(a.data(), 1)) {
            return error(0x6A80);
        }
        state = PERSONALISED;
        pin = Arrays.copyOfRange(a.data(), 1, 13);
        limit = newLimit;
        tries = newLimit;
        validated = false;
        Arrays.fill(key, -1);
        keyPending = false;
        Arrays.fill(pendingKey, -1);
        products.clear();
        int[] cells = new int[65];
        for (int i = 0; i < 65; i++) {
            cells[i] = KEY + i;
        }
        return respond(cells, a);
    }

    /** The check shared by VERIFY and CHANGE REFERENCE DATA: a try is spent, then compared. */
    private boolean check(byte[] data, int off) {
        validated = false;
        tries--;
        if (!Arrays.equals(pin, Arrays.copyOfRange(data, off, off + 12))) {
            return false;
        }
        tries = limit;
        validated = true;
        return true;
    }

    private Expected verify(Apdu a) {
        if (a.p2() != 0x81 || (a.p1() != 0x00 && a.p1() != 0xFF)) {
            return error(0x6A86);
        }
        if (state == BLANK) {
            return error(0x6985);
        }
        if (a.p1() == 0xFF) {
            if (a.lc() != 0) {
                return error(0x6700);
            }
            validated = false;
            return ok();
        }
        if (tries == 0) {
            return error(0x6983);
        }
        if (a.lc() == 0) {
            return validated ? ok() : error(0x63C0 | tries);
        }
        if (a.lc() != 12) {
            return error(0x6700);
        }
        if (!wellFormed(a.data(), 0)) {
            return error(0x6A80);
        }
        return check(a.data(), 0) ? ok() : error(0x63C0 | tries);
    }

    private Expected changeReferenceData(Apdu a) {
        if (!p1p2(a, 0x00, 0x81)) {
            return error(0x6A86);
        }
        if (state == BLANK) {
            return error(0x6985);
        }
        if (tries == 0) {
            return error(0x6983);
        }
        if (a.lc() != 24) {
            return error(0x6700);
        }
        if (!wellFormed(a.data(), 0) || !wellFormed(a.data(), 12)) {
            return error(0x6A80);
        }
        if (!check(a.data(), 0)) {
            return error(0x63C0 | tries);
        }
        pin = Arrays.copyOfRange(a.data(), 12, 24);
        return ok();
    }

    /** 6983 when blocked, 6982 when not validated, 0 when the PIN lets the command through. */
    private int pinStatus() {
        if (tries == 0) {
            return 0x6983;
        }
        return validated ? 0 : 0x6982;
    }

    private Expected putRecord(Apdu a) {
        // put-record.md: P1 00 or 01, the same on every APDU of a chain
        if ((a.p1() != 0 && a.p1() != 1) || a.p2() != 0 || (chain != null && a.p1() != chainP1)) {
            return error(0x6A86);
        }
        if (state == BLANK) {
            return error(0x6985);
        }
        if (a.p1() == 1 && !keyPending) {
            return error(0x6985);
        }
        if (pinStatus() != 0) {
            return error(pinStatus());
        }
        byte[] data = a.data() == null ? new byte[0] : a.data();
        int from = 0;
        if (chain == null) {
            if (data.length < 4) {
                return error(0x6A80);
            }
            int p = ((data[0] & 0xFF) << 8) | (data[1] & 0xFF);
            int s = ((data[2] & 0xFF) << 8) | (data[3] & 0xFF);
            if (p == 0 || s == 0) {
                return error(0x6A80);
            }
            if (p + s > capacity) {
                return error(0x6A84);
            }
            chain = new ByteArrayOutputStream();
            chainPublic = p;
            chainSealed = s;
            chainP1 = a.p1();
            from = 4;
        }
        int total = chainPublic + chainSealed;
        if (data.length - from > total - chain.size()) {
            return error(0x6700);
        }
        chain.write(data, from, data.length - from);
        if ((a.cla() & 0x10) != 0) {
            return ok();
        }
        if (chain.size() != total) {
            return error(0x6700);
        }
        byte[] stream = chain.toByteArray();
        pub = Arrays.copyOf(stream, chainPublic);
        sealed = Arrays.copyOfRange(stream, chainPublic, total);
        state = ENROLLED;
        chain = null;
        if (chainP1 == 1) {
            System.arraycopy(pendingKey, 0, key, 0, 65);
            Arrays.fill(pendingKey, -1);
            keyPending = false;
            products.clear();
        }
        return ok();
    }

    private Expected getRecord(Apdu a) {
        if ((a.p1() != 0 && a.p1() != 1) || a.p2() != 0) {
            return error(0x6A86);
        }
        if (state != ENROLLED) {
            return error(0x6985);
        }
        if (a.p1() == 1 && pinStatus() != 0) {
            return error(pinStatus());
        }
        if (a.lc() != 0) {
            return error(0x6700);
        }
        byte[] part = a.p1() == 0 ? pub : sealed;
        int[] cells = new int[part.length];
        for (int i = 0; i < part.length; i++) {
            cells[i] = part[i] & 0xFF;
        }
        return respond(cells, a);
    }

    private Expected unseal(Apdu a) {
        // unseal.md: P1 00 the answer alone, 01 (1.2) the answer and the sealed part after its enc
        if ((a.p1() != 0 && a.p1() != 1) || a.p2() != 0) {
            return error(0x6A86);
        }
        if (state != ENROLLED) {
            return error(0x6985);
        }
        if (pinStatus() != 0) {
            return error(pinStatus());
        }
        if (a.lc() != 65) {
            return error(0x6700);
        }
        byte[] point = a.data();
        // unseal.md: first the X of a low-order point, whatever the first byte and Y are
        BigInteger pointX = new BigInteger(1, Arrays.copyOfRange(point, 1, 33));
        for (BigInteger u : WeiMath.LOW_ORDER_U) {
            if (WeiMath.weierstrassX(u).equals(pointX)) {
                return error(0x6A80);
            }
        }
        if (point[0] != 4) {
            return error(0x6A80);
        }
        BigInteger[] p = WeiMath.decode(point);
        if (p[0].compareTo(WeiMath.P) >= 0 || p[1].compareTo(WeiMath.P) >= 0 || !WeiMath.onCurve(p)) {
            return error(0x6A80);
        }
        BigInteger t = logs.get(SimCard.HEX.formatHex(point));
        if (t == null && WeiMath.multiply(WeiMath.R, p) != null) {
            return error(0x6A80); // not in the prime-order subgroup
        }
        int tail = a.p1() == 1 ? Math.max(0, sealed.length - 32) : 0;
        int[] cells = new int[32 + tail];
        byte[] x = t == null ? null : product(t);
        for (int i = 0; i < 32; i++) {
            cells[i] = x == null ? ANY : x[i] & 0xFF;
        }
        for (int i = 0; i < tail; i++) {
            cells[32 + i] = sealed[32 + i] & 0xFF;
        }
        return respond(cells, a);
    }

    /** x(t * K), if the whole key K has been seen. */
    private byte[] product(BigInteger t) {
        byte[] k = new byte[65];
        for (int i = 0; i < 65; i++) {
            if (key[i] < 0) {
                return null;
            }
            k[i] = (byte) key[i];
        }
        return products.computeIfAbsent(t, s -> WeiMath.fixed(WeiMath.multiply(s, WeiMath.decode(k))[0]));
    }

    /** PREPARE KEY: a new pending key, whose bytes the answer teaches the model. */
    private Expected prepareKey(Apdu a) {
        if (!p1p2(a, 0, 0)) {
            return error(0x6A86);
        }
        if (state != ENROLLED) {
            return error(0x6985);
        }
        if (pinStatus() != 0) {
            return error(pinStatus());
        }
        if (a.lc() != 0) {
            return error(0x6700);
        }
        keyPending = true;
        Arrays.fill(pendingKey, -1);
        int[] cells = new int[65];
        for (int i = 0; i < 65; i++) {
            cells[i] = PENDING_KEY + i;
        }
        return respond(cells, a);
    }

    private Expected factoryReset(Apdu a) {
        if (!p1p2(a, 0xAA, 0x55)) {
            return error(0x6A86);
        }
        if (a.lc() != 0) {
            return error(0x6700);
        }
        state = BLANK;
        pin = null;
        limit = 0;
        tries = 0;
        validated = false;
        pub = null;
        sealed = null;
        Arrays.fill(key, -1);
        keyPending = false;
        Arrays.fill(pendingKey, -1);
        products.clear();
        return ok();
    }

    private Expected getResponse(Apdu a) {
        if (!p1p2(a, 0, 0)) {
            return error(0x6A86);
        }
        if (pending == null) {
            return error(0x6985);
        }
        if (a.lc() != 0) {
            return error(0x6700);
        }
        return send(a);
    }

    /**
     * Compares what the card sent with the predicted cells, learning key bytes not seen before;
     * returns null if they agree, else what differs.
     */
    String compare(int[] cells, byte[] actual) {
        if (cells.length != actual.length) {
            return "expected " + cells.length + " bytes, got " + actual.length;
        }
        for (int i = 0; i < cells.length; i++) {
            int b = actual[i] & 0xFF;
            int c = cells[i];
            if (c >= PENDING_KEY) {
                int k = c - PENDING_KEY;
                if (pendingKey[k] < 0) {
                    pendingKey[k] = b;
                } else if (pendingKey[k] != b) {
                    return "pending key byte " + k + " changed from " + pendingKey[k] + " to " + b;
                }
            } else if (c >= KEY) {
                int k = c - KEY;
                if (key[k] < 0) {
                    key[k] = b;
                    products.clear();
                } else if (key[k] != b) {
                    return "public key byte " + k + " changed from " + key[k] + " to " + b;
                }
            } else if (c != ANY && c != b) {
                return "byte " + i + ": expected " + c + ", got " + b;
            }
        }
        return null;
    }
}

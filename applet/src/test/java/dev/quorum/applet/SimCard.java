package dev.quorum.applet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.licel.jcardsim.smartcardio.CardSimulator;
import com.licel.jcardsim.utils.AIDUtil;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import javacard.framework.AID;
import javacard.framework.Applet;
import javax.smartcardio.CommandAPDU;
import javax.smartcardio.ResponseAPDU;

/** One simulated custodian card in jcardsim, with the host-side moves the tests repeat. */
final class SimCard {

    static final HexFormat HEX = HexFormat.of();
    static final byte[] AID_BYTES = HEX.parseHex("F051554F52554D0101");
    static final AID APPLET_AID = AIDUtil.create(AID_BYTES);
    static final String PIN = "123456";
    static final int LIMIT = 5;

    final CardSimulator sim;

    private SimCard(Class<? extends Applet> applet, byte[] installParameters) {
        sim = new CardSimulator();
        sim.installApplet(APPLET_AID, applet, installParameters, (short) 0,
                (byte) installParameters.length);
    }

    /** A fresh card with default install parameters, selected. */
    static SimCard blank() {
        return withParameters(new byte[0]);
    }

    /** A fresh card installed with a raw install bArray, selected. */
    static SimCard withParameters(byte[] bArray) {
        return installed(QuorumApplet.class, bArray);
    }

    /** A fresh card running a given applet class (e.g. one loaded by a test class loader), selected. */
    static SimCard installed(Class<? extends Applet> applet, byte[] bArray) {
        SimCard card = new SimCard(applet, bArray);
        card.select();
        return card;
    }

    /** The standard install bArray: Li AID, Lc control (empty), La capacity (2 bytes). */
    static byte[] capacityParameters(int capacity) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(AID_BYTES.length);
        out.writeBytes(AID_BYTES);
        out.write(0);
        out.write(2);
        out.write(capacity >> 8);
        out.write(capacity);
        return out.toByteArray();
    }

    /** A personalised card (PIN 123456, limit 5), PIN not validated. */
    static SimCard personalised() {
        SimCard card = blank();
        card.initialise(LIMIT, PIN);
        return card;
    }

    /** An enrolled card with the given record, PIN validated. */
    static SimCard enrolled(byte[] pub, byte[] sealed) {
        SimCard card = personalised();
        card.expect(0x9000, card.verify(PIN));
        card.expect(0x9000, card.putRecord(stream(pub, sealed), 255));
        return card;
    }

    ResponseAPDU transmit(CommandAPDU command) {
        return sim.transmitCommand(command);
    }

    ResponseAPDU transmit(byte[] raw) {
        return new ResponseAPDU(sim.transmitCommand(raw));
    }

    /** Command without data, Le = 00. */
    ResponseAPDU send(int cla, int ins, int p1, int p2) {
        return transmit(new CommandAPDU(cla, ins, p1, p2, 256));
    }

    /** Command with data, no Le. */
    ResponseAPDU send(int cla, int ins, int p1, int p2, byte[] data) {
        return transmit(new CommandAPDU(cla, ins, p1, p2, data));
    }

    /** Sends a command and follows 61xx with GET RESPONSE, returning all data and the last SW. */
    ResponseAPDU follow(CommandAPDU command) {
        ResponseAPDU r = transmit(command);
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        data.writeBytes(r.getData());
        while (r.getSW1() == 0x61) {
            int ne = r.getSW2() == 0 ? 256 : r.getSW2();
            r = transmit(new CommandAPDU(0x00, 0xC0, 0x00, 0x00, ne));
            data.writeBytes(r.getData());
        }
        data.write(r.getSW1());
        data.write(r.getSW2());
        return new ResponseAPDU(data.toByteArray());
    }

    ResponseAPDU select() {
        return transmit(new CommandAPDU(0x00, 0xA4, 0x04, 0x00, AID_BYTES, 256));
    }

    /**
     * What SELECT must answer (select.md, 1.4) on a card whose GET STATUS answers status and, when
     * ENROLLED, whose record is pub and sealed: version 01 04, capabilities 7F, state, capacity,
     * the status, then the record header (public bytes 4..22 and the sealed part's first 32,
     * zero-padded) and the public digest, SHA-256 of pub. status must be read with the PIN not
     * validated, as SELECT leaves it.
     */
    static byte[] selectAnswer(byte[] status, byte[] pub, byte[] sealed) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(HEX.parseHex("01047F"));
        out.write(status[0]);
        out.write(status[4]);
        out.write(status[5]);
        out.writeBytes(status);
        if (status[0] == 2) {
            out.writeBytes(recordHeader(pub, sealed));
            out.writeBytes(sha256(pub));
        }
        return out.toByteArray();
    }

    /** SHA-256 (the JDK's, independent of the card's): the public digest of a public part. */
    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** The 51-byte record header of select.md: public bytes 4..22, the sealed part's first 32. */
    static byte[] recordHeader(byte[] pub, byte[] sealed) {
        byte[] header = new byte[51];
        for (int i = 0; i < 19 && 4 + i < pub.length; i++) {
            header[i] = pub[4 + i];
        }
        System.arraycopy(sealed, 0, header, 19, Math.min(32, sealed.length));
        return header;
    }

    /** Card reset (power cycle) followed by SELECT, as a host reconnecting would do. */
    void resetAndSelect() {
        sim.reset();
        expect(0x9000, select());
    }

    ResponseAPDU status() {
        return follow(new CommandAPDU(0x80, 0x10, 0x00, 0x00, 256));
    }

    Status parsedStatus() {
        ResponseAPDU r = status();
        expect(0x9000, r);
        return new Status(r.getData());
    }

    ResponseAPDU initialise(int limit, String pin) {
        byte[] data = new byte[13];
        data[0] = (byte) limit;
        System.arraycopy(pinBlock(pin), 0, data, 1, 12);
        return transmit(new CommandAPDU(0x80, 0x12, 0x00, 0x00, data, 256));
    }

    ResponseAPDU verify(String pin) {
        return send(0x00, 0x20, 0x00, 0x81, pinBlock(pin));
    }

    ResponseAPDU verifyRaw(byte[] block) {
        return send(0x00, 0x20, 0x00, 0x81, block);
    }

    ResponseAPDU changePin(String oldPin, String newPin) {
        byte[] data = new byte[24];
        System.arraycopy(pinBlock(oldPin), 0, data, 0, 12);
        System.arraycopy(pinBlock(newPin), 0, data, 12, 12);
        return send(0x00, 0x24, 0x00, 0x81, data);
    }

    /** Sends a PUT RECORD stream in APDUs of at most chunk bytes; returns the last response. */
    ResponseAPDU putRecord(byte[] stream, int chunk) {
        return putRecord(stream, chunk, 0x00);
    }

    /** PUT RECORD with a P1 on every APDU (01: the commit makes the pending key active). */
    ResponseAPDU putRecord(byte[] stream, int chunk, int p1) {
        ResponseAPDU r = null;
        int offset = 0;
        do {
            int n = Math.min(chunk, stream.length - offset);
            boolean last = offset + n == stream.length;
            r = send(last ? 0x80 : 0x90, 0x14, p1, 0x00, Arrays.copyOfRange(stream, offset, offset + n));
            offset += n;
            if (!last && r.getSW() != 0x9000) {
                return r;
            }
        } while (offset < stream.length);
        return r;
    }

    ResponseAPDU getRecord(int p1) {
        return follow(new CommandAPDU(0x80, 0x16, p1, 0x00, 256));
    }

    ResponseAPDU unseal(byte[] point) {
        return transmit(new CommandAPDU(0x80, 0x18, 0x00, 0x00, point, 256));
    }

    /** UNSEAL P1 = 01 (1.2): X of d·P, then the sealed part after its enc; 61xx followed. */
    ResponseAPDU unsealWithSealed(byte[] point) {
        return follow(new CommandAPDU(0x80, 0x18, 0x01, 0x00, point, 256));
    }

    /** PREPARE KEY: 80 1C 00 00 00, answers the pending public key. */
    ResponseAPDU prepareKey() {
        return transmit(new CommandAPDU(0x80, 0x1C, 0x00, 0x00, 256));
    }

    ResponseAPDU factoryReset() {
        return transmit(new CommandAPDU(0x80, 0x1E, 0xAA, 0x55));
    }

    /** Asserts a status word, showing both in hex on failure. */
    ResponseAPDU expect(int sw, ResponseAPDU r) {
        assertEquals(String.format("%04X", sw), String.format("%04X", r.getSW()));
        return r;
    }

    /** The 12-byte PIN block: ASCII digits left-justified, FF padding. */
    static byte[] pinBlock(String pin) {
        byte[] block = new byte[12];
        Arrays.fill(block, (byte) 0xFF);
        byte[] digits = pin.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(digits, 0, block, 0, Math.min(12, digits.length));
        return block;
    }

    /** PUT RECORD stream: public length, sealed length, public, sealed. */
    static byte[] stream(byte[] pub, byte[] sealed) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(pub.length >> 8);
        out.write(pub.length);
        out.write(sealed.length >> 8);
        out.write(sealed.length);
        out.writeBytes(pub);
        out.writeBytes(sealed);
        return out.toByteArray();
    }

    /** Deterministic filler bytes, different for each seed. */
    static byte[] bytes(int length, int seed) {
        byte[] b = new byte[length];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }

    /** GET STATUS, decoded. */
    record Status(int state, int flags, int triesLeft, int limit, int capacity, int publicLength,
                  int sealedLength, byte[] publicKey) {
        Status(byte[] d) {
            this(d[0] & 0xFF, d[1] & 0xFF, d[2] & 0xFF, d[3] & 0xFF,
                    ((d[4] & 0xFF) << 8) | (d[5] & 0xFF), ((d[6] & 0xFF) << 8) | (d[7] & 0xFF),
                    ((d[8] & 0xFF) << 8) | (d[9] & 0xFF), Arrays.copyOfRange(d, 11, 11 + (d[10] & 0xFF)));
            assertEquals(11 + (d[10] & 0xFF), d.length, "GET STATUS length");
        }

        boolean blocked() {
            return (flags & 1) != 0;
        }

        boolean validated() {
            return (flags & 2) != 0;
        }

        boolean keyPending() {
            return (flags & 4) != 0;
        }
    }
}

package dev.quorum.applet;

import static dev.quorum.applet.SimCard.HEX;
import static dev.quorum.applet.SimCard.PIN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.licel.jcardsim.smartcardio.CardSimulator;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import javacard.security.ECPrivateKey;
import javacard.security.KeyAgreement;
import javacard.security.KeyBuilder;
import javax.smartcardio.ResponseAPDU;
import org.json.JSONArray;
import org.json.JSONObject;
import org.junit.jupiter.api.Test;

/**
 * The shared vectors in apdu-spec/vectors/, which the Rust suite reads too: the card's curve and
 * key agreement give the same results as the host's X25519 side, and a record stream sent the way
 * the host sends it comes back unchanged. Missing files fail the test: they are part of the spec.
 */
class SharedVectorsTest {

    private static Path vectorsDir() {
        return Paths.get(System.getProperty("quorum.vectors.dir", "../apdu-spec/vectors"));
    }

    private static JSONObject load(String name) throws IOException {
        Path file = vectorsDir().resolve(name);
        assertTrue(Files.isRegularFile(file), "missing shared vector file " + file.toAbsolutePath()
                + ": apdu-spec/vectors/" + name + " must exist (it is generated on the host side);"
                + " or point -Dquorum.vectors.dir at a directory that has it");
        return new JSONObject(Files.readString(file));
    }

    @Test
    void wei25519KeyAgreementMatchesHost() throws IOException {
        JSONObject vectors = load("wei25519.json");
        JSONArray cases = vectors.getJSONArray("cases");
        assertFalse(cases.isEmpty(), "wei25519.json has no cases");
        new CardSimulator(); // a JavaCard runtime for this thread
        Wei25519 curve = new Wei25519();
        JSONObject params = vectors.getJSONObject("curve");
        assertArrayEquals(HEX.parseHex(params.getString("p")), curve.prime, "curve.p");
        assertArrayEquals(HEX.parseHex(params.getString("a")), curve.a, "curve.a");
        assertArrayEquals(HEX.parseHex(params.getString("b")), curve.b, "curve.b");
        assertArrayEquals(HEX.parseHex(params.getString("r")), curve.order, "curve.r");
        assertArrayEquals(HEX.parseHex("04" + params.getString("gx") + params.getString("gy")),
                WeiMath.encode(WeiMath.G), "curve.gx, curve.gy");
        assertEquals(8, params.getInt("h"), "curve.h");
        CurveCheck check = new CurveCheck(curve);
        ECPrivateKey key = (ECPrivateKey) KeyBuilder.buildKey(KeyBuilder.TYPE_EC_FP_PRIVATE,
                KeyBuilder.LENGTH_EC_FP_256, false);
        curve.applyTo(key);
        KeyAgreement agreement = KeyAgreement.getInstance(KeyAgreement.ALG_EC_SVDP_DH_PLAIN, false);
        for (int i = 0; i < cases.length(); i++) {
            JSONObject c = cases.getJSONObject(i);
            String name = c.getString("name");
            byte[] scalar = HEX.parseHex(c.getString("scalar_be"));
            byte[] point = HEX.parseHex(c.getString("point_wei"));
            byte[] expected = HEX.parseHex(c.getString("dh_x_be"));
            assertEquals(32, scalar.length, name + ": scalar_be length");
            assertEquals(65, point.length, name + ": point_wei length");
            assertTrue(check.isOnCurve(point, (short) 0), name + ": point_wei refused by the card's curve check");
            // the vector's Montgomery u agrees with this curve's mapping u = x - A/3
            BigInteger x = new BigInteger(1, Arrays.copyOfRange(point, 1, 33));
            BigInteger u = x.subtract(WeiMath.MONTGOMERY_A.multiply(BigInteger.valueOf(3).modInverse(WeiMath.P)))
                    .mod(WeiMath.P);
            assertArrayEquals(reverse(WeiMath.fixed(u)), HEX.parseHex(c.getString("montgomery_u_le")),
                    name + ": montgomery_u_le");
            key.setS(scalar, (short) 0, (short) 32);
            agreement.init(key);
            byte[] out = new byte[32];
            short length = agreement.generateSecret(point, (short) 0, (short) 65, out, (short) 0);
            assertEquals(32, length, name);
            assertArrayEquals(expected, out, name + ": dh_x_be");
            BigInteger dhX = new BigInteger(1, out);
            BigInteger dhU = dhX.subtract(WeiMath.MONTGOMERY_A.multiply(BigInteger.valueOf(3).modInverse(WeiMath.P)))
                    .mod(WeiMath.P);
            assertArrayEquals(HEX.parseHex(c.getString("dh_u_le")), reverse(WeiMath.fixed(dhU)), name + ": dh_u_le");
        }
    }

    @Test
    void invalidPointsAreRefusedByUnseal() throws IOException {
        JSONArray invalid = load("wei25519.json").getJSONArray("invalid_points");
        assertFalse(invalid.isEmpty(), "wei25519.json has no invalid_points");
        SimCard card = SimCard.enrolled(SimCard.bytes(40, 1), SimCard.bytes(81, 2));
        for (int i = 0; i < invalid.length(); i++) {
            JSONObject c = invalid.getJSONObject(i);
            byte[] point = HEX.parseHex(c.getString("point_wei"));
            String what = c.getString("name") + " (" + c.optString("reason") + ")";
            ResponseAPDU r = card.unseal(point);
            int expected = point.length == 65 ? 0x6A80 : 0x6700;
            assertEquals(String.format("%04X", expected), String.format("%04X", r.getSW()), what);
        }
        // the card still works after all that
        card.expect(0x9000, card.unseal(WeiMath.encode(WeiMath.G)));
    }

    @Test
    void recordStreamsRoundTrip() throws IOException {
        JSONArray cases = load("record.json").getJSONArray("cases");
        assertFalse(cases.isEmpty(), "record.json has no cases");
        for (int i = 0; i < cases.length(); i++) {
            JSONObject c = cases.getJSONObject(i);
            String name = c.getString("name");
            byte[] pub = HEX.parseHex(c.getString("public_hex"));
            byte[] sealed = HEX.parseHex(c.getString("sealed_hex"));
            byte[] stream = HEX.parseHex(c.getString("stream_hex"));
            int capacity = Math.max(8192, pub.length + sealed.length);
            assertTrue(capacity <= 32767, name + ": record larger than any card capacity");
            SimCard card = SimCard.withParameters(SimCard.capacityParameters(capacity));
            card.expect(0x9000, card.initialise(SimCard.LIMIT, PIN));
            card.expect(0x9000, card.verify(PIN));
            card.expect(0x9000, card.putRecord(stream, 255));
            SimCard.Status status = card.parsedStatus();
            assertEquals(pub.length, status.publicLength(), name);
            assertEquals(sealed.length, status.sealedLength(), name);
            assertArrayEquals(pub, card.expect(0x9000, card.getRecord(0)).getData(), name + ": public part");
            assertArrayEquals(sealed, card.expect(0x9000, card.getRecord(1)).getData(), name + ": sealed part");
        }
    }

    /**
     * Protocol 1.3 on every record of record.json (the enrolment cases and add_card's records):
     * after PUT RECORD, SELECT ends with select_header_hex (83 bytes: the 1.2 header and the public
     * digest), and UNSEAL P1 = 01 of the blinded enc
     * answers x(d·t·E) followed by unseal_tail_hex, where x(d·t·E) = x(t·clamp(skE)·K) with the
     * vector's ephemeral key skE and the card's own public key K (crypto.md §4, §5).
     */
    @Test
    void selectHeaderAndUnsealTail() throws IOException {
        JSONObject vectors = load("record.json");
        List<JSONObject> records = new ArrayList<>();
        JSONArray cases = vectors.getJSONArray("cases");
        for (int i = 0; i < cases.length(); i++) {
            records.add(cases.getJSONObject(i));
        }
        JSONObject addCard = vectors.getJSONObject("add_card");
        records.add(addCard.getJSONObject("card"));
        JSONArray refreshed = addCard.getJSONArray("refreshed");
        for (int i = 0; i < refreshed.length(); i++) {
            records.add(refreshed.getJSONObject(i));
        }
        Random random = new Random(12);
        for (JSONObject c : records) {
            String name = c.optString("name", "record of index " + c.getInt("index"));
            byte[] sealed = HEX.parseHex(c.getString("sealed_hex"));
            byte[] stream = HEX.parseHex(c.getString("stream_hex"));
            int capacity = Math.max(8192, stream.length - 4);
            SimCard card = SimCard.withParameters(SimCard.capacityParameters(capacity));
            card.expect(0x9000, card.initialise(SimCard.LIMIT, PIN));
            card.expect(0x9000, card.verify(PIN));
            card.expect(0x9000, card.putRecord(stream, 255));
            byte[] key = card.parsedStatus().publicKey();
            byte[] answer = card.expect(0x9000, card.select()).getData();
            assertEquals(165, answer.length, name + ": SELECT answer length");
            assertEquals(c.getString("select_header_hex"), HEX.formatHex(Arrays.copyOfRange(answer, 82, 165)),
                    name + ": select_header_hex");
            assertArrayEquals(SimCard.sha256(HEX.parseHex(c.getString("public_hex"))),
                    Arrays.copyOfRange(answer, 133, 165), name + ": the public digest is SHA-256 of public_hex");
            byte[] enc = HEX.parseHex(c.getString("enc"));
            assertArrayEquals(Arrays.copyOf(sealed, 32), enc, name + ": enc is the sealed part's first 32 bytes");
            BigInteger x = WeiMath.weierstrassX(new BigInteger(1, reverse(enc)));
            BigInteger[] e = {x, WeiMath.sqrt(WeiMath.rhs(x))};
            BigInteger t = WeiMath.randomScalar(random);
            BigInteger skE = new BigInteger(1, reverse(clamp(HEX.parseHex(c.getString("ephemeral_sk")))));
            byte[] z = WeiMath.fixed(WeiMath.multiply(t.multiply(skE), WeiMath.decode(key))[0]);
            card.expect(0x9000, card.verify(PIN));
            byte[] r = card.expect(0x9000, card.unsealWithSealed(WeiMath.encode(WeiMath.multiply(t, e)))).getData();
            assertEquals(HEX.formatHex(z) + c.getString("unseal_tail_hex"), HEX.formatHex(r), name + ": UNSEAL P1 = 01");
            assertArrayEquals(sealed, HEX.parseHex(c.getString("enc") + c.getString("unseal_tail_hex")),
                    name + ": enc and unseal_tail_hex make the sealed part");
        }
    }

    /** X25519 scalar clamping (RFC 7748), on the little-endian bytes. */
    private static byte[] clamp(byte[] k) {
        byte[] c = k.clone();
        c[0] &= (byte) 248;
        c[31] &= 127;
        c[31] |= 64;
        return c;
    }

    private static byte[] reverse(byte[] b) {
        byte[] r = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            r[i] = b[b.length - 1 - i];
        }
        return r;
    }
}

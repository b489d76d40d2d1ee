package dev.quorum.applet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import javacard.security.MessageDigest;
import javax.smartcardio.ResponseAPDU;
import org.junit.jupiter.api.Test;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.tree.AbstractInsnNode;
import org.objectweb.asm.tree.ClassNode;
import org.objectweb.asm.tree.MethodInsnNode;
import org.objectweb.asm.tree.MethodNode;

/**
 * Where jcardsim and real cards are known to differ, the applet depends on neither behaviour
 * (applet/README.md, "jcardsim and real cards"). The other differences listed there have their
 * tests in QuorumAppletTest and TearingTest.
 */
class PlatformDifferencesTest {

    /**
     * Transactions: jcardsim does not roll them back, and a card's commit buffer may be as small
     * as 755 bytes. The applet opens none, so neither matters: it never begins or commits a
     * transaction (process() only aborts one if ever left open), asks no commit capacity, and
     * calls no atomic Util.arrayCopy (which a card may run through its commit buffer); its commit
     * points are single-byte writes (TearingTest cuts the power around them).
     */
    @Test
    void noTransactionsAndNoAtomicCopies() throws IOException {
        Set<String> banned = Set.of(
                "javacard/framework/JCSystem.beginTransaction",
                "javacard/framework/JCSystem.commitTransaction",
                "javacard/framework/JCSystem.getMaxCommitCapacity",
                "javacard/framework/JCSystem.getUnusedCommitCapacity",
                "javacard/framework/Util.arrayCopy");
        List<String> found = new ArrayList<>();
        int calls = 0;
        Path classes = Path.of(System.getProperty("quorum.card.classes", "target/classes"));
        try (Stream<Path> files = Files.walk(classes.resolve("dev/quorum/applet"))) {
            for (Path file : files.filter(p -> p.toString().endsWith(".class")).toList()) {
                ClassNode node = new ClassNode();
                try (InputStream in = Files.newInputStream(file)) {
                    new ClassReader(in).accept(node, 0);
                }
                for (MethodNode method : node.methods) {
                    for (AbstractInsnNode insn : method.instructions) {
                        if (insn instanceof MethodInsnNode call) {
                            calls++;
                            if (banned.contains(call.owner + "." + call.name)) {
                                found.add(node.name + "." + method.name + " calls " + call.owner + "." + call.name);
                            }
                        }
                    }
                }
            }
        }
        assertTrue(calls > 100, "read the applet's classes under " + classes.toAbsolutePath());
        assertEquals(List.of(), found);
    }

    /**
     * MessageDigest SHA-256: jcardsim hashes any input length in one call; what a card's
     * implementation takes in one update or doFinal over an EEPROM array is not documented
     * anywhere we know. The applet never asks for more than 256 bytes a call (the public part in
     * 256-byte chunks, the rest in doFinal) and resets the object first (a hash cut off by a power
     * loss leaves nothing behind). The card's own MessageDigest is wrapped here to record each
     * call; QuorumAppletTest$PublicDigest checks the digests themselves.
     */
    @Test
    void publicDigestIsHashedInChunksOf256Bytes() throws ReflectiveOperationException {
        for (int length : new int[] {1, 256, 257, 512, 5000}) {
            SimCard card = SimCard.personalised();
            Object store = WipeTest.storeObject(card);
            Field field = store.getClass().getDeclaredField("sha256");
            field.setAccessible(true);
            Recording recording = new Recording((MessageDigest) field.get(store));
            field.set(store, recording);
            byte[] pub = SimCard.bytes(length, 61);
            card.expect(0x9000, card.verify(SimCard.PIN));
            card.expect(0x9000, card.putRecord(SimCard.stream(pub, QuorumAppletTest.SEALED), 255));
            List<String> calls = recording.calls;
            List<String> expected = new ArrayList<>();
            expected.add("reset");
            for (int i = 0; i < (length - 1) / 256; i++) {
                expected.add("update 256");
            }
            expected.add("doFinal " + (length - (length - 1) / 256 * 256));
            assertEquals(expected, calls, "public part of " + length + " bytes");
            byte[] answer = card.expect(0x9000, card.select()).getData();
            assertArrayEquals(SimCard.sha256(pub), Arrays.copyOfRange(answer, 133, 165));
        }
    }

    /** A MessageDigest that records each call's kind and input length and delegates. */
    private static final class Recording extends MessageDigest {
        private final MessageDigest inner;
        final List<String> calls = new ArrayList<>();

        Recording(MessageDigest inner) {
            this.inner = inner;
        }

        @Override
        public byte getAlgorithm() {
            return inner.getAlgorithm();
        }

        @Override
        public byte getLength() {
            return inner.getLength();
        }

        @Override
        public short doFinal(byte[] in, short inOffset, short inLength, byte[] out, short outOffset) {
            calls.add("doFinal " + inLength);
            return inner.doFinal(in, inOffset, inLength, out, outOffset);
        }

        @Override
        public void update(byte[] in, short inOffset, short inLength) {
            calls.add("update " + inLength);
            inner.update(in, inOffset, inLength);
        }

        @Override
        public void reset() {
            calls.add("reset");
            inner.reset();
        }
    }

    /**
     * The point at infinity: cards and jcardsim differ in whether KeyAgreement accepts its
     * encoding (a single 00 byte) or throws, and in what a DH that ends at infinity returns.
     * UNSEAL takes exactly 65 bytes starting 04 on the curve, so no encoding of infinity reaches
     * the key agreement; the other way to end at infinity, a low-order point, is refused first
     * (QuorumAppletTest$Unseal.lowOrderPoints, lowOrderXIsRefused). Nothing changes on the card.
     */
    @Test
    void pointAtInfinityNeverReachesTheKeyAgreement() {
        SimCard card = SimCard.enrolled(QuorumAppletTest.PUBLIC, QuorumAppletTest.SEALED);
        SimCard.Status before = card.parsedStatus();
        card.expect(0x6700, card.unseal(new byte[] {0x00}));
        card.expect(0x6A80, card.unseal(new byte[65]));
        byte[] zeros = new byte[65];
        zeros[0] = 0x04;
        card.expect(0x6A80, card.unseal(zeros));
        SimCard.Status after = card.parsedStatus();
        assertEquals(before.triesLeft(), after.triesLeft());
        assertTrue(after.validated(), "the PIN stays verified");
        ResponseAPDU r = card.expect(0x9000, card.unseal(WeiMath.encode(WeiMath.G)));
        assertArrayEquals(Arrays.copyOfRange(before.publicKey(), 1, 33), r.getData(),
                "a good point right after still gives x(d * G)");
    }
}

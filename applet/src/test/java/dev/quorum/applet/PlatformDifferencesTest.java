package dev.quorum.applet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
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

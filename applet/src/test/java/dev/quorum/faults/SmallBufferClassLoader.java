package dev.quorum.faults;

import java.nio.file.Path;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

/**
 * Loads the release classes of the applet with every APDU.setIncomingAndReceive() and
 * APDU.receiveBytes(short) routed through {@link SmallBuffer}, so that the applet receives its data
 * in chunks of a small buffer, as on a real card, without a hook in the card code. With tearing,
 * the persistent writes are also routed through {@link FaultInjector} (as {@link TearingClassLoader}
 * does). Everything else comes from the parent loader.
 */
public final class SmallBufferClassLoader extends RewritingClassLoader {

    private static final String APDU = "javacard/framework/APDU";
    private static final String SHIM = "dev/quorum/faults/SmallBuffer";

    private final boolean tearing;

    /** Instruments the classes found under a class directory (target/classes). */
    public SmallBufferClassLoader(Path classes, ClassLoader parent, boolean tearing) {
        super(classes, parent);
        this.tearing = tearing;
    }

    @Override
    byte[] rewrite(byte[] classFile) {
        byte[] code = routeReceives(classFile);
        return tearing ? TearingClassLoader.instrument(code) : code;
    }

    /** The class file with its receive calls going to SmallBuffer. */
    static byte[] routeReceives(byte[] classFile) {
        ClassReader reader = new ClassReader(classFile);
        ClassWriter writer = new ClassWriter(reader, ClassWriter.COMPUTE_MAXS);
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
                                             String[] exceptions) {
                return new MethodVisitor(Opcodes.ASM9, super.visitMethod(access, name, descriptor, signature, exceptions)) {
                    @Override
                    public void visitMethodInsn(int opcode, String owner, String method, String desc, boolean itf) {
                        if (opcode == Opcodes.INVOKEVIRTUAL && owner.equals(APDU)) {
                            if (method.equals("setIncomingAndReceive") && desc.equals("()S")) {
                                super.visitMethodInsn(Opcodes.INVOKESTATIC, SHIM, method, "(L" + APDU + ";)S", false);
                                return;
                            }
                            if (method.equals("receiveBytes") && desc.equals("(S)S")) {
                                super.visitMethodInsn(Opcodes.INVOKESTATIC, SHIM, method, "(L" + APDU + ";S)S", false);
                                return;
                            }
                        }
                        super.visitMethodInsn(opcode, owner, method, desc, itf);
                    }
                };
            }
        }, 0);
        return writer.toByteArray();
    }
}

package dev.quorum.faults;

import java.nio.file.Path;
import java.util.Set;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

/**
 * Loads the release classes of the applet (the very files the CAP is made from) with every
 * persistent write routed through {@link FaultInjector}, so that tests can cut the power before
 * any write without a single hook in the card code. Everything else (the JavaCard API, jcardsim,
 * the tests) comes from the parent loader.
 * <p>
 * Rewritten: putfield/putstatic; bastore and sastore (the injector skips transient arrays);
 * Util.arrayCopy, arrayCopyNonAtomic, arrayFillNonAtomic and setShort; the methods that change a
 * key object (set*, clearKey, KeyPair.genKeyPair) and OwnerPIN's update/check/reset methods. Any
 * other array store is refused at load time, so new card code cannot slip past the count.
 */
public final class TearingClassLoader extends RewritingClassLoader {

    private static final String INJECTOR = "dev/quorum/faults/FaultInjector";
    private static final Set<String> UTIL_WRITES = Set.of("arrayCopy", "arrayCopyNonAtomic",
            "arrayFillNonAtomic", "setShort");
    private static final Set<String> PIN_WRITES = Set.of("check", "update", "reset", "resetAndUnblock");


    /** Instruments the classes found under a class directory (target/classes). */
    public TearingClassLoader(Path classes, ClassLoader parent) {
        super(classes, parent);
    }

    @Override
    byte[] rewrite(byte[] classFile) {
        return instrument(classFile);
    }

    /** The class file with its persistent writes routed through the injector. */
    static byte[] instrument(byte[] classFile) {
        ClassReader reader = new ClassReader(classFile);
        ClassWriter writer = new ClassWriter(reader, ClassWriter.COMPUTE_MAXS);
        String className = reader.getClassName();
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
                                             String[] exceptions) {
                MethodVisitor next = super.visitMethod(access, name, descriptor, signature, exceptions);
                return new WriteRouter(next, simpleName(className) + "." + name);
            }
        }, 0);
        return writer.toByteArray();
    }

    private static String simpleName(String internalName) {
        return internalName.substring(internalName.lastIndexOf('/') + 1);
    }

    /** Rewrites one method. */
    private static final class WriteRouter extends MethodVisitor {
        private final String method;
        private int line;

        WriteRouter(MethodVisitor next, String method) {
            super(Opcodes.ASM9, next);
            this.method = method;
        }

        @Override
        public void visitLineNumber(int number, Label start) {
            line = number;
            super.visitLineNumber(number, start);
        }

        private int site(String what) {
            return FaultInjector.register(method + ":" + line + " " + what);
        }

        private void callInjector(String name, String descriptor) {
            super.visitMethodInsn(Opcodes.INVOKESTATIC, INJECTOR, name, descriptor, false);
        }

        private void noteSite(String what) {
            super.visitLdcInsn(site(what));
            callInjector("site", "(I)V");
        }

        @Override
        public void visitFieldInsn(int opcode, String owner, String name, String descriptor) {
            if (opcode == Opcodes.PUTFIELD || opcode == Opcodes.PUTSTATIC) {
                super.visitLdcInsn(site(simpleName(owner) + "." + name + " ="));
                callInjector("write", "(I)V");
            }
            super.visitFieldInsn(opcode, owner, name, descriptor);
        }

        @Override
        public void visitInsn(int opcode) {
            switch (opcode) {
                case Opcodes.BASTORE -> {
                    noteSite("bastore");
                    callInjector("bastore", "(Ljava/lang/Object;II)V");
                }
                case Opcodes.SASTORE -> {
                    noteSite("sastore");
                    callInjector("sastore", "([SII)V");
                }
                case Opcodes.IASTORE, Opcodes.LASTORE, Opcodes.FASTORE, Opcodes.DASTORE, Opcodes.AASTORE,
                     Opcodes.CASTORE -> throw new IllegalStateException(
                        "array store the fault injection does not handle in " + method + ":" + line);
                default -> super.visitInsn(opcode);
            }
        }

        @Override
        public void visitMethodInsn(int opcode, String owner, String name, String descriptor, boolean isInterface) {
            if (owner.equals("javacard/framework/Util") && UTIL_WRITES.contains(name)) {
                noteSite("Util." + name);
                super.visitMethodInsn(Opcodes.INVOKESTATIC, INJECTOR, name, descriptor, false);
                return;
            }
            if (changesKey(owner, name) || (owner.equals("javacard/framework/OwnerPIN") && PIN_WRITES.contains(name))) {
                super.visitLdcInsn(site(simpleName(owner) + "." + name));
                callInjector("write", "(I)V");
            }
            super.visitMethodInsn(opcode, owner, name, descriptor, isInterface);
        }

        private static boolean changesKey(String owner, String name) {
            if (!owner.startsWith("javacard/security/")) {
                return false;
            }
            if (owner.equals("javacard/security/KeyPair")) {
                return name.equals("genKeyPair");
            }
            return owner.endsWith("Key") && (name.startsWith("set") || name.equals("clearKey"));
        }
    }
}

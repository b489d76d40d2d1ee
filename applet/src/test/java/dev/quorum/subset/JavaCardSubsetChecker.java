package dev.quorum.subset;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.Handle;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;
import org.objectweb.asm.tree.AbstractInsnNode;
import org.objectweb.asm.tree.ClassNode;
import org.objectweb.asm.tree.FieldInsnNode;
import org.objectweb.asm.tree.FieldNode;
import org.objectweb.asm.tree.IntInsnNode;
import org.objectweb.asm.tree.InvokeDynamicInsnNode;
import org.objectweb.asm.tree.LdcInsnNode;
import org.objectweb.asm.tree.LocalVariableNode;
import org.objectweb.asm.tree.MethodInsnNode;
import org.objectweb.asm.tree.MethodNode;
import org.objectweb.asm.tree.MultiANewArrayInsnNode;
import org.objectweb.asm.tree.TryCatchBlockNode;
import org.objectweb.asm.tree.TypeInsnNode;

/**
 * Reads compiled classes with ASM and reports everything the JavaCard 3.0.4 classic subset (as
 * quorum uses it) forbids, because CI has no JavaCard converter to do it. Short arithmetic
 * compiled to int opcodes (IADD then I2S) is allowed: javac has no other way to emit it.
 */
public final class JavaCardSubsetChecker {

    /** What a violation is about; each has a fixture in dev.quorum.subsetfixtures. */
    public enum Kind {
        /** int or char in a field, signature or local variable. */
        INT_TYPE,
        /** long, float or double in a field, signature or local variable. */
        WIDE_TYPE,
        /** long/float/double instructions or constants. */
        WIDE_INSTRUCTION,
        /** An int constant (LDC) outside the short range. */
        LARGE_INT_CONSTANT,
        /** int arrays (int[] types, IALOAD/IASTORE, NEWARRAY int). */
        INT_ARRAY,
        /** java/lang/String or java/lang/StringBuilder anywhere. */
        STRING,
        /** java/util anywhere. */
        JAVA_UTIL,
        /** Allocation (new, arrays, crypto factories, transient arrays) outside constructors and install. */
        ALLOCATION,
        /** Instructions JavaCard has no equivalent for (invokedynamic, monitors, multi-dimensional arrays). */
        UNSUPPORTED_INSTRUCTION
    }

    /** One finding, with enough context to find it in the source. */
    public record Violation(Kind kind, String className, String member, String detail) {
        @Override
        public String toString() {
            return kind + " in " + className + (member.isEmpty() ? "" : "." + member) + ": " + detail;
        }
    }

    private static final Set<Integer> WIDE_OPCODES = Set.of(
            Opcodes.LCONST_0, Opcodes.LCONST_1, Opcodes.FCONST_0, Opcodes.FCONST_1, Opcodes.FCONST_2,
            Opcodes.DCONST_0, Opcodes.DCONST_1, Opcodes.LLOAD, Opcodes.FLOAD, Opcodes.DLOAD,
            Opcodes.LALOAD, Opcodes.FALOAD, Opcodes.DALOAD, Opcodes.LSTORE, Opcodes.FSTORE, Opcodes.DSTORE,
            Opcodes.LASTORE, Opcodes.FASTORE, Opcodes.DASTORE, Opcodes.LADD, Opcodes.FADD, Opcodes.DADD,
            Opcodes.LSUB, Opcodes.FSUB, Opcodes.DSUB, Opcodes.LMUL, Opcodes.FMUL, Opcodes.DMUL,
            Opcodes.LDIV, Opcodes.FDIV, Opcodes.DDIV, Opcodes.LREM, Opcodes.FREM, Opcodes.DREM,
            Opcodes.LNEG, Opcodes.FNEG, Opcodes.DNEG, Opcodes.LSHL, Opcodes.LSHR, Opcodes.LUSHR,
            Opcodes.LAND, Opcodes.LOR, Opcodes.LXOR, Opcodes.I2L, Opcodes.I2F, Opcodes.I2D,
            Opcodes.L2I, Opcodes.L2F, Opcodes.L2D, Opcodes.F2I, Opcodes.F2L, Opcodes.F2D,
            Opcodes.D2I, Opcodes.D2L, Opcodes.D2F, Opcodes.LCMP, Opcodes.FCMPL, Opcodes.FCMPG,
            Opcodes.DCMPL, Opcodes.DCMPG, Opcodes.LRETURN, Opcodes.FRETURN, Opcodes.DRETURN);

    /** owner + "." + method-name prefix of the JavaCard factories that allocate. */
    private static final List<String> ALLOCATING_CALLS = List.of(
            "javacard/security/KeyBuilder.build",
            "javacard/security/KeyPair.<init>",
            "javacard/security/KeyAgreement.getInstance",
            "javacard/security/RandomData.getInstance",
            "javacard/security/RandomData$OneShot.open",
            "javacard/security/MessageDigest.getInstance",
            "javacard/security/MessageDigest.getInitializedMessageDigestInstance",
            "javacard/security/MessageDigest$OneShot.open",
            "javacard/security/InitializedMessageDigest.getInstance",
            "javacard/security/Signature.getInstance",
            "javacard/security/Signature$OneShot.open",
            "javacard/security/Checksum.getInstance",
            "javacardx/crypto/Cipher.getInstance",
            "javacardx/crypto/Cipher$OneShot.open",
            "javacardx/crypto/AEADCipher.getInstance",
            "javacard/framework/JCSystem.makeTransient",
            "javacard/framework/JCSystem.makeGlobalArray",
            "javacard/framework/OwnerPIN.<init>");

    /** Opcode names taken from ASM's Opcodes constants (asm-util is not needed for that). */
    private static final String[] OPCODE_NAMES = opcodeNames();

    private final List<Violation> violations = new ArrayList<>();
    private String className = "";
    private String member = "";

    /** Checks every .class file under a directory (recursively). */
    public static List<Violation> checkDirectory(Path root) throws IOException {
        JavaCardSubsetChecker checker = new JavaCardSubsetChecker();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".class")).sorted()::iterator) {
                checker.checkClass(Files.readAllBytes(file));
            }
        }
        return checker.violations;
    }

    /** Checks one class file. */
    public static List<Violation> checkClassBytes(byte[] classFile) {
        JavaCardSubsetChecker checker = new JavaCardSubsetChecker();
        checker.checkClass(classFile);
        return checker.violations;
    }

    private void checkClass(byte[] classFile) {
        ClassNode node = new ClassNode();
        new ClassReader(classFile).accept(node, 0);
        className = node.name.replace('/', '.');
        member = "";
        checkTypeName(node.superName, "superclass");
        for (String itf : node.interfaces) {
            checkTypeName(itf, "interface");
        }
        for (FieldNode field : node.fields) {
            member = field.name;
            checkDescriptor(field.desc, "field type " + field.desc);
        }
        for (MethodNode method : node.methods) {
            member = method.name + method.desc;
            checkMethod(method);
        }
    }

    private void checkMethod(MethodNode method) {
        Type type = Type.getMethodType(method.desc);
        checkDescriptor(type.getReturnType().getDescriptor(), "return type " + type.getReturnType().getDescriptor());
        for (Type arg : type.getArgumentTypes()) {
            checkDescriptor(arg.getDescriptor(), "parameter type " + arg.getDescriptor());
        }
        if (method.localVariables != null) {
            for (LocalVariableNode local : method.localVariables) {
                checkDescriptor(local.desc, "local variable '" + local.name + "' of type " + local.desc);
            }
        }
        if (method.tryCatchBlocks != null) {
            for (TryCatchBlockNode block : method.tryCatchBlocks) {
                if (block.type != null) {
                    checkTypeName(block.type, "catch type");
                }
            }
        }
        boolean mayAllocate = method.name.equals("<init>")
                || (method.name.equals("install") && method.desc.equals("([BSB)V")
                    && (method.access & Opcodes.ACC_STATIC) != 0);
        for (AbstractInsnNode insn : method.instructions) {
            checkInstruction(insn, mayAllocate);
        }
    }

    private void checkInstruction(AbstractInsnNode insn, boolean mayAllocate) {
        int op = insn.getOpcode();
        if (op < 0) {
            return; // labels, line numbers, frames
        }
        String name = OPCODE_NAMES[op];
        if (WIDE_OPCODES.contains(op)) {
            report(Kind.WIDE_INSTRUCTION, "instruction " + name);
        }
        if (op == Opcodes.IALOAD || op == Opcodes.IASTORE) {
            report(Kind.INT_ARRAY, "instruction " + name);
        }
        if (op == Opcodes.CALOAD || op == Opcodes.CASTORE || op == Opcodes.I2C) {
            report(Kind.INT_TYPE, "char instruction " + name);
        }
        if (op == Opcodes.INVOKEDYNAMIC || op == Opcodes.MONITORENTER || op == Opcodes.MONITOREXIT
                || op == Opcodes.MULTIANEWARRAY) {
            report(Kind.UNSUPPORTED_INSTRUCTION, "instruction " + name);
        }
        if (!mayAllocate && (op == Opcodes.NEW || op == Opcodes.NEWARRAY || op == Opcodes.ANEWARRAY
                || op == Opcodes.MULTIANEWARRAY)) {
            String what = insn instanceof TypeInsnNode t ? " " + t.desc : "";
            report(Kind.ALLOCATION, "instruction " + name + what + " outside a constructor or install");
        }
        if (insn instanceof IntInsnNode intInsn && op == Opcodes.NEWARRAY) {
            switch (intInsn.operand) {
                case Opcodes.T_INT -> report(Kind.INT_ARRAY, "NEWARRAY int");
                case Opcodes.T_CHAR -> report(Kind.INT_TYPE, "NEWARRAY char");
                case Opcodes.T_LONG, Opcodes.T_FLOAT, Opcodes.T_DOUBLE ->
                        report(Kind.WIDE_INSTRUCTION, "NEWARRAY " + intInsn.operand);
                default -> { }
            }
        } else if (insn instanceof LdcInsnNode ldc) {
            checkConstant(ldc.cst);
        } else if (insn instanceof TypeInsnNode typeInsn) {
            checkTypeName(typeInsn.desc, "instruction " + name + " " + typeInsn.desc);
        } else if (insn instanceof FieldInsnNode field) {
            checkTypeName(field.owner, "instruction " + name + " " + field.owner + "." + field.name);
            checkDescriptor(field.desc, "instruction " + name + " " + field.owner + "." + field.name + " " + field.desc);
        } else if (insn instanceof MethodInsnNode call) {
            String target = call.owner + "." + call.name;
            checkTypeName(call.owner, "call " + target + call.desc);
            Type type = Type.getMethodType(call.desc);
            checkDescriptor(type.getReturnType().getDescriptor(), "call " + target + call.desc);
            for (Type arg : type.getArgumentTypes()) {
                checkDescriptor(arg.getDescriptor(), "call " + target + call.desc);
            }
            if (!mayAllocate) {
                for (String prefix : ALLOCATING_CALLS) {
                    if (target.startsWith(prefix)) {
                        report(Kind.ALLOCATION, "call " + target + call.desc + " outside a constructor or install");
                    }
                }
            }
        } else if (insn instanceof MultiANewArrayInsnNode multi) {
            checkDescriptor(multi.desc, "instruction MULTIANEWARRAY " + multi.desc);
        } else if (insn instanceof InvokeDynamicInsnNode indy) {
            checkDescriptor(Type.getMethodType(indy.desc).getReturnType().getDescriptor(), "invokedynamic " + indy.name);
            Handle bsm = indy.bsm;
            checkTypeName(bsm.getOwner(), "invokedynamic bootstrap " + bsm.getOwner() + "." + bsm.getName());
        }
    }

    private void checkConstant(Object cst) {
        if (cst instanceof Integer value) {
            if (value < Short.MIN_VALUE || value > Short.MAX_VALUE) {
                report(Kind.LARGE_INT_CONSTANT, "LDC " + value + " outside the short range");
            }
        } else if (cst instanceof Long || cst instanceof Float || cst instanceof Double) {
            report(Kind.WIDE_INSTRUCTION, "LDC " + cst.getClass().getSimpleName() + " " + cst);
        } else if (cst instanceof String s) {
            report(Kind.STRING, "LDC string \"" + s + "\"");
        } else if (cst instanceof Type t) {
            checkDescriptor(t.getDescriptor(), "LDC class " + t.getDescriptor());
        }
    }

    /** Checks a field/type descriptor such as I, [I, Ljava/lang/String;, (ISB)V parts. */
    private void checkDescriptor(String desc, String where) {
        Type type = Type.getType(desc);
        Type element = type.getSort() == Type.ARRAY ? type.getElementType() : type;
        boolean array = type.getSort() == Type.ARRAY;
        switch (element.getSort()) {
            case Type.INT -> report(array ? Kind.INT_ARRAY : Kind.INT_TYPE, where);
            case Type.CHAR -> report(Kind.INT_TYPE, where);
            case Type.LONG, Type.FLOAT, Type.DOUBLE -> report(Kind.WIDE_TYPE, where);
            case Type.OBJECT -> checkTypeName(element.getInternalName(), where);
            default -> { }
        }
    }

    /** Checks an internal name (java/lang/String) or an array descriptor used as a type. */
    private void checkTypeName(String internalName, String where) {
        if (internalName == null) {
            return;
        }
        if (internalName.startsWith("[")) {
            checkDescriptor(internalName, where);
            return;
        }
        if (internalName.equals("java/lang/String") || internalName.equals("java/lang/StringBuilder")
                || internalName.equals("java/lang/StringBuffer")) {
            report(Kind.STRING, where);
        } else if (internalName.startsWith("java/util/")) {
            report(Kind.JAVA_UTIL, where);
        }
    }

    private static String[] opcodeNames() {
        String[] names = new String[256];
        for (Field field : Opcodes.class.getFields()) {
            String n = field.getName();
            if (field.getType() != int.class || !Modifier.isStatic(field.getModifiers())
                    || n.startsWith("ACC_") || n.startsWith("T_") || n.startsWith("H_") || n.startsWith("F_")
                    || n.startsWith("V") || n.startsWith("ASM") || n.startsWith("SOURCE")) {
                continue;
            }
            try {
                int value = field.getInt(null);
                if (value >= 0 && value < names.length) {
                    names[value] = n;
                }
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
        for (int i = 0; i < names.length; i++) {
            if (names[i] == null) {
                names[i] = "opcode " + i;
            }
        }
        return names;
    }

    private void report(Kind kind, String detail) {
        violations.add(new Violation(kind, className, member, detail));
    }
}

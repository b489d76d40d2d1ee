package dev.quorum.subset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quorum.subset.JavaCardSubsetChecker.Kind;
import dev.quorum.subset.JavaCardSubsetChecker.Violation;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The applet's compiled classes (exactly what a CAP file is made from) keep to the JavaCard 3.0.4
 * classic subset, and the check demonstrably catches each kind of violation.
 */
class JavaCardSubsetTest {

    /** target/classes of this module, passed by Surefire. */
    private static Path cardClasses() {
        String dir = System.getProperty("quorum.card.classes", "target/classes");
        Path path = Paths.get(dir);
        assertTrue(Files.isRegularFile(path.resolve("dev/quorum/applet/QuorumApplet.class")),
                "no compiled applet under " + path.toAbsolutePath() + ": run through Maven (mvn -f applet/pom.xml test)");
        return path;
    }

    @Test
    void appletClassesKeepToTheSubset() throws IOException {
        List<Violation> violations = JavaCardSubsetChecker.checkDirectory(cardClasses());
        assertTrue(violations.isEmpty(), () -> "JavaCard subset violations:\n"
                + violations.stream().map(Violation::toString).collect(Collectors.joining("\n")));
    }

    @Test
    void appletClassesAreJava7ClassFilesWithLocalVariableTables() throws IOException {
        try (Stream<Path> files = Files.walk(cardClasses())) {
            List<Path> classes = files.filter(p -> p.toString().endsWith(".class")).toList();
            assertTrue(classes.size() >= 8, "expected the applet's classes, found " + classes);
            for (Path file : classes) {
                byte[] bytes = Files.readAllBytes(file);
                int major = ((bytes[6] & 0xFF) << 8) | (bytes[7] & 0xFF);
                assertEquals(51, major, file + " class-file version (51 = Java 7, the lowest JDK 17 emits)");
                assertTrue(new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).contains("LocalVariableTable"),
                        file + " has no LocalVariableTable: compile with -g");
            }
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "IntField, INT_TYPE, field type I",
        "IntParameter, INT_TYPE, parameter type I",
        "IntLocal, INT_TYPE, local variable 's'",
        "LongArithmetic, WIDE_TYPE, local variable 'wide'",
        "LongArithmetic, WIDE_INSTRUCTION, LMUL",
        "FloatConstant, WIDE_INSTRUCTION, FCMP",
        "LargeConstant, LARGE_INT_CONSTANT, LDC 100000",
        "IntArray, INT_ARRAY, IALOAD",
        "IntArray, INT_ARRAY, field type [I",
        "StringUse, STRING, LDC string",
        "StringUse, STRING, field type Ljava/lang/String;",
        "StringUse, STRING, java/lang/StringBuilder",
        "UtilUse, JAVA_UTIL, java/util/Arrays.fill",
        "AllocationInProcess, ALLOCATION, NEWARRAY",
        "FactoryInProcess, ALLOCATION, KeyAgreement.getInstance",
        "FactoryInProcess, ALLOCATION, JCSystem.makeTransientByteArray",
        "MonitorUse, UNSUPPORTED_INSTRUCTION, MONITORENTER",
    })
    void catchesEachKindOfViolation(String fixture, Kind kind, String detail) throws IOException {
        List<Violation> violations = JavaCardSubsetChecker.checkClassBytes(fixtureBytes(fixture));
        String all = violations.stream().map(Violation::toString).collect(Collectors.joining("\n"));
        assertTrue(violations.stream().anyMatch(v -> v.kind() == kind && v.toString().contains(detail)),
                "expected " + kind + " mentioning '" + detail + "' in " + fixture + ", got:\n" + all);
        for (Violation v : violations) {
            assertTrue(v.className().endsWith("." + fixture), "violation names its class: " + v);
            assertTrue(!v.member().isEmpty(), "violation names its member: " + v);
        }
    }

    @Test
    void everyKindHasAFailingFixture() {
        List<Kind> covered = List.of(Kind.INT_TYPE, Kind.WIDE_TYPE, Kind.WIDE_INSTRUCTION, Kind.LARGE_INT_CONSTANT,
                Kind.INT_ARRAY, Kind.STRING, Kind.JAVA_UTIL, Kind.ALLOCATION, Kind.UNSUPPORTED_INSTRUCTION);
        assertEquals(List.of(Kind.values()), covered, "add a fixture and a case above for each new kind");
    }

    @Test
    void cleanFixtureHasNoViolations() throws IOException {
        List<Violation> violations = JavaCardSubsetChecker.checkClassBytes(fixtureBytes("CleanApplet"));
        assertTrue(violations.isEmpty(), () -> violations.toString());
    }

    private static byte[] fixtureBytes(String simpleName) throws IOException {
        String resource = "/dev/quorum/subsetfixtures/" + simpleName + ".class";
        try (InputStream in = JavaCardSubsetTest.class.getResourceAsStream(resource)) {
            assertTrue(in != null, "fixture not compiled: " + resource);
            return in.readAllBytes();
        }
    }
}

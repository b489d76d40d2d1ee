package dev.quorum.applet;

import static dev.quorum.applet.SimCard.bytes;
import static dev.quorum.applet.SimCard.stream;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quorum.faults.FaultInjector;
import dev.quorum.faults.TearingClassLoader;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import javacard.framework.Applet;
import javacard.framework.JCSystem;
import javacard.security.Key;
import javax.smartcardio.ResponseAPDU;
import org.junit.jupiter.api.Test;

/**
 * The applet's footprint for scripts/bench's report (target/footprint.json): the persistent
 * and transient bytes its objects hold once installed (arrays reachable from the applet
 * instance, sorted by jcardsim's transient kind, and its key objects), and for each command of
 * a ceremony the persistent writes it makes, counted through the tearing build's
 * {@link FaultInjector} (the release classes with every persistent write routed through it).
 * It asserts only that the report was written: sizes are measured, never judged, here.
 */
class FootprintReport {

    /** The record a 3-of-5 set with a 32-byte master gives each card (record-format.md Size). */
    private static final int PUBLIC_LENGTH = 520;
    private static final int SEALED_LENGTH = 81;
    /** The host's PUT RECORD pieces. */
    private static final int CHUNK = 255;

    @Test
    void writesTheFootprintReport() throws Exception {
        Map<String, Long> install = installFootprint();
        List<String> commands = commandWrites();
        StringBuilder json = new StringBuilder("{\n  \"install\": {");
        String sep = "";
        for (Map.Entry<String, Long> e : install.entrySet()) {
            json.append(sep).append("\n    \"").append(e.getKey()).append("\": ").append(e.getValue());
            sep = ",";
        }
        json.append("\n  },\n  \"record\": {\"public_bytes\": ").append(PUBLIC_LENGTH)
                .append(", \"sealed_bytes\": ").append(SEALED_LENGTH).append(", \"put_record_chunk\": ")
                .append(CHUNK).append("},\n  \"commands\": [\n    ")
                .append(String.join(",\n    ", commands)).append("\n  ]\n}\n");
        Path out = Paths.get(System.getProperty("quorum.footprint.out", "target/footprint.json"));
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, json);
        assertTrue(Files.size(out) > 0);
    }

    /** Bytes in the arrays and key objects the installed applet holds, before INITIALISE. */
    private static Map<String, Long> installFootprint() throws Exception {
        SimCard card = SimCard.blank();
        Object runtime = field(card.sim, "runtime");
        Object transientMemory = field(runtime, "transientMemory");
        Method getApplet = findMethod(runtime.getClass(), "getApplet");
        getApplet.setAccessible(true);
        Applet applet = (Applet) getApplet.invoke(runtime, SimCard.APPLET_AID);
        Method isTransient = transientMemory.getClass().getMethod("isTransient", Object.class);
        long[] sums = new long[6]; // persistent, deselect, reset, keys, key bits, arrays
        walk(applet, new IdentityHashMap<>(), transientMemory, isTransient, sums);
        Map<String, Long> out = new java.util.LinkedHashMap<>();
        out.put("record_capacity_bytes", (long) card.parsedStatus().capacity());
        out.put("persistent_array_bytes", sums[0]);
        out.put("transient_deselect_bytes", sums[1]);
        out.put("transient_reset_bytes", sums[2]);
        out.put("key_objects", sums[3]);
        out.put("key_object_bits", sums[4]);
        out.put("arrays", sums[5]);
        return out;
    }

    private static void walk(Object o, Map<Object, Boolean> seen, Object tm, Method isTransient, long[] sums)
            throws Exception {
        if (o == null || seen.put(o, Boolean.TRUE) != null) {
            return;
        }
        Class<?> c = o.getClass();
        if (c.isArray()) {
            long size = switch (c.getComponentType().getName()) {
                case "byte", "boolean" -> java.lang.reflect.Array.getLength(o);
                case "short" -> 2L * java.lang.reflect.Array.getLength(o);
                default -> -1;
            };
            if (size < 0) {
                for (Object e : (Object[]) o) {
                    walk(e, seen, tm, isTransient, sums);
                }
                return;
            }
            sums[5]++;
            byte kind = (Byte) isTransient.invoke(tm, o);
            sums[kind == JCSystem.CLEAR_ON_DESELECT ? 1 : kind == JCSystem.CLEAR_ON_RESET ? 2 : 0] += size;
            return;
        }
        if (o instanceof Key key) {
            sums[3]++;
            sums[4] += key.getSize();
            return;
        }
        if (!c.getName().startsWith("dev.quorum.")) {
            return;
        }
        for (Class<?> k = c; k != null && k.getName().startsWith("dev.quorum."); k = k.getSuperclass()) {
            for (Field f : k.getDeclaredFields()) {
                if (f.getType().isPrimitive() || Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
                    continue;
                }
                f.setAccessible(true);
                walk(f.get(Modifier.isStatic(f.getModifiers()) ? null : o), seen, tm, isTransient, sums);
            }
        }
    }

    /** One JSON object per command of an enrollment, a recovery, a PIN change and a reset. */
    private static List<String> commandWrites() {
        Path classes = Paths.get(System.getProperty("quorum.card.classes", "target/classes"));
        Class<? extends Applet> instrumented;
        try {
            instrumented = new TearingClassLoader(classes, FootprintReport.class.getClassLoader())
                    .loadClass(QuorumApplet.class.getName()).asSubclass(Applet.class);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
        SimCard card = SimCard.installed(instrumented, new byte[0]);
        byte[] record = stream(bytes(PUBLIC_LENGTH, 1), bytes(SEALED_LENGTH, 2));
        byte[] point = WeiMath.encode(WeiMath.G);
        List<String> rows = new ArrayList<>();
        rows.add(measure("SELECT", card::select));
        rows.add(measure("INITIALISE", () -> card.initialise(SimCard.LIMIT, SimCard.PIN)));
        rows.add(measure("VERIFY (right PIN)", () -> card.verify(SimCard.PIN)));
        rows.add(measure("PUT RECORD (whole chain, " + record.length + " bytes)", () -> card.putRecord(record, CHUNK)));
        // protocol 1.4: the same stream again, as one extended-length APDU (into the other slot)
        rows.add(measure("PUT RECORD (one extended APDU, " + record.length + " bytes)",
                () -> card.transmit(ExtendedLengthTest.putExtended(0x80, 0x00, record))));
        rows.add(measure("GET RECORD (public part)", () -> card.getRecord(0x00)));
        rows.add(measure("UNSEAL P1 = 01", () -> card.unsealWithSealed(point)));
        rows.add(measure("VERIFY (wrong PIN)", () -> card.verify("000000")));
        rows.add(measure("VERIFY (right PIN, tries reset)", () -> card.verify(SimCard.PIN)));
        rows.add(measure("CHANGE REFERENCE DATA", () -> card.changePin(SimCard.PIN, "24680135")));
        rows.add(measure("PREPARE KEY", card::prepareKey));
        rows.add(measure("FACTORY RESET", card::factoryReset));
        return rows;
    }

    private static String measure(String command, Supplier<ResponseAPDU> send) {
        FaultInjector.count();
        ResponseAPDU r = send.get();
        int operations = FaultInjector.operations();
        int bytesWritten = FaultInjector.bytesWritten();
        int largest = FaultInjector.largestWrite();
        FaultInjector.disarm();
        return String.format("{\"command\": \"%s\", \"sw\": \"%04X\", \"writes\": %d, \"bytes\": %d, \"largest_write\": %d}",
                command, r.getSW(), operations, bytesWritten, largest);
    }

    private static Object field(Object o, String name) throws ReflectiveOperationException {
        for (Class<?> c = o.getClass(); c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f.get(o);
            } catch (NoSuchFieldException e) {
                // look in the superclass
            }
        }
        throw new NoSuchFieldException(name);
    }

    private static Method findMethod(Class<?> c, String name) throws NoSuchMethodException {
        for (Class<?> k = c; k != null; k = k.getSuperclass()) {
            for (Method m : k.getDeclaredMethods()) {
                if (m.getName().equals(name) && m.getParameterCount() == 1) {
                    return m;
                }
            }
        }
        throw new NoSuchMethodException(name);
    }
}

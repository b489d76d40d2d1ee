package dev.quorum.cardfarm;

import java.io.ByteArrayOutputStream;
import java.net.URL;
import java.security.CodeSource;
import java.util.HexFormat;
import java.util.OptionalInt;

/**
 * Which applet every new card gets: a class name found on the runtime classpath (the
 * farm has no compile-time dependency on the applet) and the AID to install it under.
 */
record AppletSpec(String className, byte[] aid) {
    /** The quorum applet, so a plain farm start needs no options. */
    static final String DEFAULT_CLASS = "dev.quorum.applet.QuorumApplet";
    /** The quorum applet AID (apdu-spec/README.md). */
    static final String DEFAULT_AID = "F051554F52554D0101";

    AppletSpec {
        if (aid.length < 5 || aid.length > 16) {
            throw new IllegalArgumentException("an AID has 5 to 16 bytes, got " + aid.length);
        }
        aid = aid.clone();
    }

    /** Parses the AID from hex (spaces allowed), for command-line options. */
    static AppletSpec of(String className, String aidHex) {
        String compact = aidHex.replace(" ", "").replace(":", "");
        byte[] aid;
        try {
            aid = HexFormat.of().parseHex(compact);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("AID must be hex, got '" + aidHex + "'");
        }
        return new AppletSpec(className, aid);
    }

    @Override
    public byte[] aid() {
        return aid.clone();
    }

    /**
     * The standard install bArray a card manager hands to {@code Applet.install}:
     * instance AID, empty control info, then the applet data (the optional 2-byte
     * big-endian capacity), each behind a length byte.
     */
    byte[] installData(OptionalInt capacity) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(aid.length);
        out.writeBytes(aid);
        out.write(0);
        if (capacity.isPresent()) {
            int c = capacity.getAsInt();
            if (c < 0 || c > 0xFFFF) {
                throw new IllegalArgumentException("capacity must fit in 2 bytes (0..65535), got " + c);
            }
            out.write(2);
            out.write(c >>> 8);
            out.write(c & 0xFF);
        } else {
            out.write(0);
        }
        return out.toByteArray();
    }

    /**
     * Loads a private copy of the applet's package for one card. A real card has its
     * own static fields; with the classpath's shared class, every simulated card in the
     * JVM would share them and one card's state could leak into another.
     */
    Class<?> loadForOneCard(ClassLoader parent) throws ClassNotFoundException {
        Class<?> shared = Class.forName(className, false, parent);
        CodeSource source = shared.getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null) {
            throw new ClassNotFoundException("applet class " + className
                    + " has no code source to load a per-card copy from");
        }
        String pkg = shared.getPackageName();
        PackageIsolatingLoader loader = new PackageIsolatingLoader(source.getLocation(),
                pkg.isEmpty() ? className : pkg + ".", parent);
        return Class.forName(className, false, loader);
    }

    /** Child-first for one package (and its subpackages), parent-first for the rest. */
    private static final class PackageIsolatingLoader extends java.net.URLClassLoader {
        static {
            registerAsParallelCapable();
        }

        private final String prefix;

        PackageIsolatingLoader(URL location, String prefix, ClassLoader parent) {
            super("card-applet", new URL[] {location}, parent);
            this.prefix = prefix;
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!name.startsWith(prefix)) {
                return super.loadClass(name, resolve);
            }
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    c = findClass(name);
                }
                if (resolve) {
                    resolveClass(c);
                }
                return c;
            }
        }
    }
}

package dev.quorum.faults;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads the release classes of the applet (the very files the CAP is made from) from a class
 * directory through a bytecode rewrite, so that tests change how the card code meets the runtime
 * without a single hook in it; everything else (the JavaCard API, jcardsim, the tests) comes from
 * the parent loader.
 */
abstract class RewritingClassLoader extends ClassLoader {

    private final Path classes;

    RewritingClassLoader(Path classes, ClassLoader parent) {
        super(parent);
        this.classes = classes;
    }

    /** The class file as the tests load it. */
    abstract byte[] rewrite(byte[] classFile);

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        synchronized (getClassLoadingLock(name)) {
            Class<?> loaded = findLoadedClass(name);
            if (loaded == null) {
                Path file = classes.resolve(name.replace('.', '/') + ".class");
                if (Files.isRegularFile(file)) {
                    byte[] code = rewrite(read(file));
                    loaded = defineClass(name, code, 0, code.length);
                } else {
                    loaded = getParent().loadClass(name);
                }
            }
            if (resolve) {
                resolveClass(loaded);
            }
            return loaded;
        }
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

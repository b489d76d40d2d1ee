package dev.quorum.cardfarm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/** Starts the farm: readers, cards on demand, and the control channel; runs until shutdown. */
public final class Main {
    private static final Logger LOG = Logger.getLogger(Main.class.getName());

    private Main() {}

    /** Entry point; exit code 2 means bad options or configuration, with a message on stderr. */
    public static void main(String[] args) throws InterruptedException {
        Options options;
        List<VirtualReader> readers;
        try {
            options = Options.parse(args);
            readers = options.loadReaders();
            FarmLog.setUp(options.logFile(), options.verbose());
        } catch (IllegalArgumentException | IOException e) {
            System.err.println("quorum-cardfarm: " + e.getMessage());
            System.err.println(Options.USAGE);
            System.exit(2);
            return;
        }
        ClassLoader classpath = Main.class.getClassLoader();
        if (options.applet() != null && !onClasspath(options.applet().className(), classpath)) {
            String msg = "applet class " + options.applet().className() + " is not on the classpath "
                    + System.getProperty("java.class.path") + " (add the applet jar, or pass --applet)";
            LOG.severe(msg);
            System.err.println("quorum-cardfarm: " + msg);
            System.exit(2);
            return;
        }

        Farm farm = new Farm(readers, options.applet(), classpath);
        CountDownLatch shutdown = new CountDownLatch(1);
        ControlServer server;
        try {
            server = new ControlServer(options.controlPort(), new ControlProtocol(farm), shutdown::countDown);
        } catch (IOException e) {
            String msg = "cannot open the control channel on 127.0.0.1:" + options.controlPort() + ": " + e.getMessage();
            LOG.severe(msg);
            System.err.println("quorum-cardfarm: " + msg);
            System.exit(2);
            return;
        }

        AtomicBoolean stopped = new AtomicBoolean();
        Runnable stop = () -> {
            if (stopped.compareAndSet(false, true)) {
                closeQuietly(server);
                farm.close();
                deleteQuietly(options.portFile());
                deleteQuietly(options.pidFile());
                LOG.info("farm stopped");
            }
        };
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "shutdown"));

        try {
            if (options.pidFile() != null) {
                writeAtomically(options.pidFile(), Long.toString(ProcessHandle.current().pid()));
            }
            if (options.portFile() != null) {
                writeAtomically(options.portFile(), Integer.toString(server.port()));
            }
        } catch (IOException e) {
            LOG.log(Level.SEVERE, "cannot write the pid or port file", e);
            System.err.println("quorum-cardfarm: cannot write the pid or port file: " + e.getMessage());
            stop.run();
            System.exit(2);
            return;
        }
        LOG.info("ready: control channel 127.0.0.1:" + server.port() + ", " + readers.size() + " readers (vpcd ports "
                + readers.get(0).port() + ".." + readers.get(readers.size() - 1).port() + "), applet "
                + (options.applet() == null ? "none" : options.applet().className()));

        shutdown.await();
        LOG.info("shutdown requested over the control channel");
        stop.run();
        System.exit(0);
    }

    private static boolean onClasspath(String className, ClassLoader loader) {
        try {
            Class.forName(className, false, loader);
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** Writes via a temporary file and a rename, so a reader never sees half a number. */
    private static void writeAtomically(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, content + "\n", StandardCharsets.US_ASCII);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void deleteQuietly(Path file) {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot delete " + file, e);
        }
    }

    private static void closeQuietly(ControlServer server) {
        try {
            server.close();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "closing the control channel failed", e);
        }
    }
}

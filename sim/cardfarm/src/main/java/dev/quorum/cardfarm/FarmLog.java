package dev.quorum.cardfarm;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;

/** One-line log records, flushed at once, so a tail of farm.log shows what just happened. */
final class FarmLog {
    private FarmLog() {}

    /** Sends the farm's log to {@code file} (appending) or, when null, to standard error. */
    static void setUp(Path file, boolean verbose) throws IOException {
        OutputStream out = file == null ? System.err : new FileOutputStream(file.toFile(), true);
        Handler handler = new StreamHandler(out, new OneLine()) {
            @Override
            public synchronized void publish(LogRecord record) {
                super.publish(record);
                flush();
            }
        };
        Level level = verbose ? Level.FINE : Level.INFO;
        handler.setLevel(level);
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        root.addHandler(handler);
        root.setLevel(Level.INFO);
        Logger.getLogger("dev.quorum.cardfarm").setLevel(level);
    }

    private static final class OneLine extends Formatter {
        private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");

        @Override
        public String format(LogRecord r) {
            StringBuilder sb = new StringBuilder();
            sb.append(LocalDateTime.now().format(TIME)).append(' ')
                    .append(r.getLevel().getName()).append(' ')
                    .append('[').append(Thread.currentThread().getName()).append("] ")
                    .append(formatMessage(r)).append('\n');
            if (r.getThrown() != null) {
                java.io.StringWriter sw = new java.io.StringWriter();
                r.getThrown().printStackTrace(new java.io.PrintWriter(sw));
                sb.append(sw);
            }
            return sb.toString();
        }
    }
}

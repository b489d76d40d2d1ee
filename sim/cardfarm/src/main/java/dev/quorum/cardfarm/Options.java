package dev.quorum.cardfarm;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The farm's command line, parsed and checked before anything starts. */
record Options(Path readersFile, String vpcdHost, int controlPort, Path portFile, Path pidFile,
        Path logFile, AppletSpec applet, boolean verbose) {

    /** Printed on a usage error. */
    static final String USAGE = String.join("\n",
            "usage: java -cp farm.jar:applet.jar:lib/* dev.quorum.cardfarm.Main --readers FILE [options]",
            "  --readers FILE       reader table, one line per vpcd slot: INDEX<TAB>PORT<TAB>PC/SC NAME",
            "  --vpcd-host HOST     where vpcd listens (default 127.0.0.1)",
            "  --control-port N     control channel port on 127.0.0.1 (default 0 = any free port)",
            "  --port-file FILE     write the control port here once the farm is ready",
            "  --pid-file FILE      write the farm's process id here",
            "  --log FILE           append the log here (default: standard error)",
            "  --applet CLASS|none  applet class on the classpath (default " + AppletSpec.DEFAULT_CLASS + ")",
            "  --aid HEX            AID to install it under (default " + AppletSpec.DEFAULT_AID + ")",
            "  --verbose            also log power events and every control request");

    /** Parses the arguments; an IllegalArgumentException carries the message for the user. */
    static Options parse(String[] args) {
        Path readers = null;
        String host = "127.0.0.1";
        int controlPort = 0;
        Path portFile = null;
        Path pidFile = null;
        Path logFile = null;
        String appletClass = AppletSpec.DEFAULT_CLASS;
        String aid = AppletSpec.DEFAULT_AID;
        boolean verbose = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--readers" -> readers = Path.of(value(args, ++i, a));
                case "--vpcd-host" -> host = value(args, ++i, a);
                case "--control-port" -> controlPort = port(value(args, ++i, a), a, true);
                case "--port-file" -> portFile = Path.of(value(args, ++i, a));
                case "--pid-file" -> pidFile = Path.of(value(args, ++i, a));
                case "--log" -> logFile = Path.of(value(args, ++i, a));
                case "--applet" -> appletClass = value(args, ++i, a);
                case "--aid" -> aid = value(args, ++i, a);
                case "--verbose" -> verbose = true;
                default -> throw new IllegalArgumentException("unknown option '" + a + "'");
            }
        }
        if (readers == null) {
            throw new IllegalArgumentException("--readers FILE is required");
        }
        AppletSpec applet = appletClass.equals("none") ? null : AppletSpec.of(appletClass, aid);
        return new Options(readers, host, controlPort, portFile, pidFile, logFile, applet, verbose);
    }

    /** Reads the reader table into readers addressed at {@link #vpcdHost()}. */
    List<VirtualReader> loadReaders() throws IOException {
        return parseReaders(Files.readAllLines(readersFile, StandardCharsets.UTF_8), vpcdHost,
                readersFile.toString());
    }

    /**
     * Parses reader table lines ({@code INDEX<TAB>PORT<TAB>NAME}; blank lines and lines
     * starting with # are skipped). Indexes must run 0, 1, 2, ... in order.
     */
    static List<VirtualReader> parseReaders(List<String> lines, String host, String source) {
        List<VirtualReader> readers = new ArrayList<>();
        int lineNo = 0;
        for (String line : lines) {
            lineNo++;
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t", 3);
            String where = source + ":" + lineNo + ": ";
            if (f.length != 3 || f[2].isBlank()) {
                throw new IllegalArgumentException(where + "expected INDEX<TAB>PORT<TAB>NAME, got '" + line + "'");
            }
            int index;
            try {
                index = Integer.parseInt(f[0].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(where + "reader index must be a number, got '" + f[0] + "'");
            }
            if (index != readers.size()) {
                throw new IllegalArgumentException(where + "expected reader index " + readers.size() + ", got " + index);
            }
            int port = port(f[1].trim(), where + "port", false);
            readers.add(new VirtualReader(index, f[2].trim(), new InetSocketAddress(host, port)));
        }
        if (readers.isEmpty()) {
            throw new IllegalArgumentException(source + ": no readers listed");
        }
        return readers;
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static int port(String s, String what, boolean zeroAllowed) {
        int p;
        try {
            p = Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " must be a port number, got '" + s + "'");
        }
        if (p < (zeroAllowed ? 0 : 1) || p > 65535) {
            throw new IllegalArgumentException(what + " must be " + (zeroAllowed ? 0 : 1) + "..65535, got " + p);
        }
        return p;
    }
}

package dev.quorum.cardfarm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The control channel: a TCP server on the loopback interface, one thread per client,
 * each line answered through {@link ControlProtocol}.
 */
final class ControlServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ControlServer.class.getName());
    /** Longest request line accepted; anything longer is a client bug, not a command. */
    private static final int MAX_LINE = 1024;

    private final ServerSocket server;
    private final ControlProtocol protocol;
    private final Runnable onShutdown;
    private final Thread acceptor;

    /**
     * Binds 127.0.0.1:{@code port} (0 picks a free port) and starts accepting.
     *
     * @param onShutdown run once a client asks for {@code shutdown}, after the reply is sent
     */
    ControlServer(int port, ControlProtocol protocol, Runnable onShutdown) throws IOException {
        this.server = new ServerSocket();
        this.server.setReuseAddress(true);
        this.server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        this.protocol = protocol;
        this.onShutdown = onShutdown;
        this.acceptor = new Thread(this::acceptLoop, "control-accept");
        this.acceptor.setDaemon(true);
        this.acceptor.start();
    }

    /** The port actually bound, for the port file. */
    int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                client.setTcpNoDelay(true);
                Thread t = new Thread(() -> serve(client), "control-" + client.getPort());
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (!server.isClosed()) {
                    LOG.log(Level.WARNING, "control channel accept failed", e);
                }
            }
        }
    }

    private void serve(Socket client) {
        try (client;
                BufferedReader in = new BufferedReader(
                        new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
                Writer out = new OutputStreamWriter(client.getOutputStream(), StandardCharsets.UTF_8)) {
            while (true) {
                String line = readLine(in);
                if (line == null) {
                    return;
                }
                ControlProtocol.Reply reply = line.length() > MAX_LINE
                        ? ControlProtocol.Reply.err("request longer than " + MAX_LINE + " characters")
                        : protocol.handle(line);
                if (!line.isBlank()) {
                    LOG.fine("control: " + line + " -> " + reply.lines().get(0));
                }
                for (String l : reply.lines()) {
                    out.write(l);
                    out.write('\n');
                }
                out.flush();
                if (reply.after() == ControlProtocol.After.CLOSE) {
                    return;
                }
                if (reply.after() == ControlProtocol.After.SHUTDOWN) {
                    onShutdown.run();
                    return;
                }
            }
        } catch (SocketException e) {
            LOG.fine("control client went away: " + e.getMessage());
        } catch (IOException e) {
            LOG.log(Level.WARNING, "control client failed", e);
        }
    }

    /** Reads one line, at most a little over MAX_LINE characters; null at end of stream. */
    private static String readLine(BufferedReader in) throws IOException {
        StringBuilder sb = new StringBuilder();
        while (true) {
            int c = in.read();
            if (c < 0) {
                return sb.length() == 0 ? null : sb.toString();
            }
            if (c == '\n') {
                int end = sb.length();
                if (end > 0 && sb.charAt(end - 1) == '\r') {
                    sb.setLength(end - 1);
                }
                return sb.toString();
            }
            if (sb.length() <= MAX_LINE) {
                sb.append((char) c);
            }
        }
    }

    /** Stops accepting; open client connections end when their peers hang up. */
    @Override
    public void close() throws IOException {
        server.close();
    }
}

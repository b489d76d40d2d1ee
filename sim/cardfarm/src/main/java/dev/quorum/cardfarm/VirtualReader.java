package dev.quorum.cardfarm;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.logging.Level;
import jdk.net.ExtendedSocketOptions;
import java.util.logging.Logger;

/**
 * One vpcd slot, seen from the card side. While a card is in, a session thread keeps a
 * TCP connection to vpcd and answers its frames with that card; pulling the card closes
 * the socket, which is how pcscd learns the card is gone. If vpcd goes away (pcscd
 * stopped or restarted) the session reconnects until the card is pulled.
 *
 * <p>A pull can be armed to happen between two APDUs ({@link #pullAfter}): the session
 * thread pulls the card itself right after sending the answer that used up the count, so
 * the host has that answer and its next APDU finds the card gone.
 */
final class VirtualReader {
    private static final Logger LOG = Logger.getLogger(VirtualReader.class.getName());
    private static final long RETRY_FIRST_MS = 20;
    private static final long RETRY_MAX_MS = 250;
    private static final int CONNECT_TIMEOUT_MS = 1000;
    private static final long STOP_WAIT_MS = 2000;
    private static final boolean QUICKACK_SUPPORTED = quickAckSupported();

    /** What the reader's link to vpcd is doing, for the {@code readers} command. */
    enum Link {
        /** No card in the reader. */
        EMPTY,
        /** A card is in, but vpcd is not reachable (yet). */
        CONNECTING,
        /** A card is in and its socket to vpcd is open. */
        CONNECTED;

        /** The lower-case word the control protocol prints. */
        String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final int index;
    private final String name;
    private final InetSocketAddress vpcd;
    private SimCard card;
    private Session session;
    /** A reader that carries short APDUs only: it answers an extended-length one 6700 itself. */
    private volatile boolean shortApdusOnly;

    VirtualReader(int index, String name, InetSocketAddress vpcd) {
        this.index = index;
        this.name = name;
        this.vpcd = vpcd;
    }

    /** Position in the farm's reader list; control commands address readers by it. */
    int index() {
        return index;
    }

    /** The PC/SC reader name pcscd gives this slot. */
    String name() {
        return name;
    }

    /** The vpcd port this slot listens on. */
    int port() {
        return vpcd.getPort();
    }

    /** The card in this reader, or null. */
    synchronized SimCard card() {
        return card;
    }

    /** The link state, for status displays. */
    synchronized Link link() {
        if (card == null) {
            return Link.EMPTY;
        }
        return session.connected() ? Link.CONNECTED : Link.CONNECTING;
    }

    /**
     * Arms a pull: the card is pulled out (as by {@link #remove}) right after it has answered
     * {@code apdus} more command APDUs; 0 disarms. Returns how many command APDUs the card
     * has answered since it was inserted (so {@code pullAfter(0)} also reads that count).
     */
    synchronized int pullAfter(int apdus) throws FarmException {
        if (apdus < 0) {
            throw new IllegalArgumentException("negative APDU count " + apdus);
        }
        if (session == null) {
            throw new FarmException("reader " + index + " is empty; insert a card first");
        }
        session.pullLeft = apdus;
        return session.answered;
    }

    /**
     * Makes the reader carry short APDUs only (as a T=0 link or a short-APDU reader does) or
     * any APDU again; it stays so across cards. An extended-length command APDU is then
     * answered {@code 6700} by the reader: the card never sees it and it is not counted.
     */
    void shortApdusOnly(boolean on) {
        shortApdusOnly = on;
    }

    /** Whether the reader carries short APDUs only, for the {@code readers} command. */
    boolean carriesShortApdusOnly() {
        return shortApdusOnly;
    }

    /** ISO 7816-4 extended form: a byte 00 after the header, then a 2-byte Lc or Le. */
    static boolean isExtended(byte[] apdu) {
        return apdu.length >= 7 && apdu[4] == 0;
    }

    /**
     * Counts one answer the session is about to send; when that uses up an armed count, the
     * card is taken out of the reader here (the session sends the answer, then closes the
     * socket and cuts the power). Returns true when the session must pull its card.
     */
    private synchronized boolean countAnswer(Session s) {
        if (session != s) {
            return false;
        }
        s.answered++;
        if (s.pullLeft == 0 || --s.pullLeft > 0) {
            return false;
        }
        card = null;
        session = null;
        return true;
    }

    /** Puts a card in; the caller has checked the reader is empty. */
    synchronized void insert(SimCard newCard) {
        if (card != null) {
            throw new IllegalStateException("reader " + index + " already holds card " + card.id());
        }
        card = newCard;
        session = new Session(newCard);
        session.start();
    }

    /**
     * Pulls the card out: closes the vpcd socket and cuts the card's power (a reset).
     * Returns the card, or null when the reader was empty.
     */
    SimCard remove() {
        SimCard pulled;
        Session ended;
        synchronized (this) {
            pulled = card;
            ended = session;
            card = null;
            session = null;
        }
        if (ended != null) {
            ended.stop();
        }
        if (pulled != null) {
            pulled.reset();
        }
        return pulled;
    }

    /** One insertion: the thread that keeps the card connected to vpcd. */
    private final class Session implements Runnable {
        private final SimCard inserted;
        private final Thread thread;
        private volatile boolean stopped;
        private volatile Socket socket;
        /** Command APDUs answered since insertion; guarded by the reader's lock. */
        private int answered;
        /** Answers left before an armed pull, 0 when none is armed; guarded by the reader's lock. */
        private int pullLeft;

        Session(SimCard inserted) {
            this.inserted = inserted;
            this.thread = new Thread(this, "reader-" + index);
            this.thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        boolean connected() {
            return socket != null;
        }

        void stop() {
            stopped = true;
            closeQuietly(socket);
            thread.interrupt();
            try {
                thread.join(STOP_WAIT_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (thread.isAlive()) {
                LOG.warning("reader " + index + ": session thread still busy after "
                        + STOP_WAIT_MS + " ms (card " + inserted.id() + " still working?)");
            }
        }

        @Override
        public void run() {
            long backoff = RETRY_FIRST_MS;
            boolean reported = false;
            while (!stopped) {
                Socket s = new Socket();
                boolean established = false;
                try {
                    s.connect(vpcd, CONNECT_TIMEOUT_MS);
                    s.setTcpNoDelay(true);
                    socket = s;
                    if (stopped) {
                        break;
                    }
                    established = true;
                    LOG.info("reader " + index + ": card " + inserted.id() + " connected to vpcd port "
                            + vpcd.getPort() + (reported ? " (vpcd is back)" : ""));
                    reported = false;
                    backoff = RETRY_FIRST_MS;
                    inserted.reset();
                    serve(s);
                    if (!stopped) {
                        LOG.info("reader " + index + ": vpcd closed the connection"
                                + " (pcscd stopped or gave up on the card); reconnecting");
                    }
                } catch (IOException e) {
                    if (stopped) {
                        break;
                    }
                    if (established) {
                        LOG.info("reader " + index + ": connection to vpcd lost (" + e.getMessage()
                                + "); reconnecting");
                    } else if (!reported) {
                        LOG.info("reader " + index + ": vpcd port " + vpcd.getPort() + " not reachable ("
                                + e.getMessage() + "); retrying until pcscd listens");
                        reported = true;
                    }
                } finally {
                    socket = null;
                    closeQuietly(s);
                }
                if (!stopped) {
                    pause(backoff);
                    backoff = Math.min(backoff * 2, RETRY_MAX_MS);
                }
            }
        }

        private void serve(Socket s) throws IOException {
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            Runnable acknowledge = () -> acknowledgeNow(s);
            while (!stopped) {
                byte[] frame = VpcdFrames.read(in, acknowledge);
                if (frame == null) {
                    return;
                }
                if (frame.length == 1) {
                    control(frame[0] & 0xFF, out);
                    acknowledgeNow(s);
                } else if (frame.length > 1 && shortApdusOnly && isExtended(frame)) {
                    VpcdFrames.write(out, new byte[] {0x67, 0x00});
                } else if (frame.length > 1) {
                    byte[] answer = inserted.transmit(frame);
                    // Counted before it is sent: whoever has the answer also sees the count.
                    boolean pullNow = countAnswer(this);
                    VpcdFrames.write(out, answer);
                    if (pullNow) {
                        pullSelf(s);
                        return;
                    }
                } else {
                    LOG.warning("reader " + index + ": ignoring an empty vpcd frame");
                }
            }
        }

        /**
         * An armed pull is due: the reader already forgot this card ({@link VirtualReader#countAnswer}); end
         * the session as {@link #stop} would, without waiting for this very thread, and cut
         * the power as {@link VirtualReader#remove} does. The answer just written leaves
         * before the connection's end, so vpcd receives it.
         */
        private void pullSelf(Socket s) {
            stopped = true;
            closeQuietly(s);
            inserted.reset();
            LOG.info("reader " + index + ": card " + inserted.id() + " pulled out (pull-after) after answering "
                    + answered + " command APDUs since its insertion");
        }

        /**
         * vpcd's socket uses Nagle's algorithm, writes a frame's length and payload with
         * two calls, and sends power and reset codes without waiting for an answer: each
         * time, its next write waits until the previous one is acknowledged. Without an
         * immediate ACK, Linux's delayed ACK costs about 40 ms per frame.
         */
        private void acknowledgeNow(Socket s) {
            if (QUICKACK_SUPPORTED) {
                try {
                    s.setOption(ExtendedSocketOptions.TCP_QUICKACK, true);
                } catch (IOException | UnsupportedOperationException e) {
                    LOG.log(Level.FINE, "TCP_QUICKACK failed", e);
                }
            }
        }

        private void control(int code, OutputStream out) throws IOException {
            switch (code) {
                case VpcdFrames.GET_ATR -> VpcdFrames.write(out, inserted.atr());
                case VpcdFrames.POWER_ON -> {
                    LOG.fine("reader " + index + ": power on");
                    inserted.reset();
                }
                case VpcdFrames.POWER_OFF -> {
                    LOG.fine("reader " + index + ": power off");
                    inserted.reset();
                }
                case VpcdFrames.RESET -> {
                    LOG.fine("reader " + index + ": reset");
                    inserted.reset();
                }
                default -> LOG.warning("reader " + index + ": ignoring unknown vpcd control code " + code);
            }
        }

        private void pause(long millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                // stop() interrupts to end the wait at once; the loop re-checks `stopped`.
                if (!stopped) {
                    LOG.log(Level.FINE, "reader " + index + ": retry wait interrupted", e);
                }
            }
        }
    }

    private static boolean quickAckSupported() {
        try (Socket probe = new Socket()) {
            return probe.supportedOptions().contains(ExtendedSocketOptions.TCP_QUICKACK);
        } catch (IOException e) {
            return false;
        }
    }

    private static void closeQuietly(Socket s) {
        if (s == null) {
            return;
        }
        try {
            s.close();
        } catch (IOException e) {
            LOG.log(Level.FINE, "closing a vpcd socket failed", e);
        }
    }
}

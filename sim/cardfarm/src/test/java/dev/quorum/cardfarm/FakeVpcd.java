package dev.quorum.cardfarm;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;

/** The pcscd side of one vpcd slot, played by the test: accepts the card and sends frames. */
final class FakeVpcd implements AutoCloseable {
    private final ServerSocket server;
    private Socket card;
    private InputStream in;

    FakeVpcd() throws IOException {
        this(0);
    }

    FakeVpcd(int port) throws IOException {
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        server.setSoTimeout(5000);
    }

    int port() {
        return server.getLocalPort();
    }

    InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port());
    }

    /** Waits (up to 5 s) for the card to connect, as vpcd's accept does. */
    void acceptCard() throws IOException {
        card = server.accept();
        card.setSoTimeout(5000);
        in = new BufferedInputStream(card.getInputStream());
    }

    /** Sends a frame and, for APDUs and GET ATR, returns the answer frame. */
    byte[] send(byte[] payload) throws IOException {
        VpcdFrames.write(card.getOutputStream(), payload);
        boolean answered = payload.length > 1 || payload[0] == VpcdFrames.GET_ATR;
        return answered ? VpcdFrames.read(in) : null;
    }

    /** Sends a control code that has no answer. */
    void control(int code) throws IOException {
        send(new byte[] {(byte) code});
    }

    /** True when the card side closed the connection (read sees end of stream). */
    boolean cardHungUp() throws IOException {
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    /** Drops the current card connection, as vpcd does when pcscd stops. */
    void dropCard() throws IOException {
        card.close();
    }

    @Override
    public void close() throws IOException {
        if (card != null) {
            card.close();
        }
        server.close();
    }
}

package dev.quorum.cardfarm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ControlServerTest {
    @Test
    void answersLinesOverTcpAndHonoursQuitAndShutdown() throws Exception {
        Farm farm = new Farm(List.of(new VirtualReader(0, "Test 00 00",
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 9))), Probe.SPEC, getClass().getClassLoader());
        CountDownLatch shutdown = new CountDownLatch(1);
        try (ControlServer server = new ControlServer(0, new ControlProtocol(farm), shutdown::countDown)) {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
                s.setSoTimeout(5000);
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                OutputStream out = s.getOutputStream();
                out.write("new\r\nlist\n".getBytes(StandardCharsets.UTF_8));
                out.write(("x".repeat(2000) + "\nquit\nping\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                assertEquals("ok c1", in.readLine());
                assertEquals("ok 1", in.readLine());
                assertEquals("c1 - dev.quorum.cardfarm.testapplet.ProbeApplet", in.readLine());
                assertEquals("err request longer than 1024 characters", in.readLine());
                assertEquals("ok", in.readLine());
                assertNull(in.readLine(), "quit closes the connection before ping is read");
            }
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
                s.setSoTimeout(5000);
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                s.getOutputStream().write("shutdown\n".getBytes(StandardCharsets.UTF_8));
                assertEquals("ok", in.readLine());
                assertTrue(shutdown.await(5, TimeUnit.SECONDS));
            }
        } finally {
            farm.close();
        }
    }
}

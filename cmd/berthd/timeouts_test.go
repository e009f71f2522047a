package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestServerTimeoutFlags(t *testing.T) {
	noenv := func(string) string { return "" }
	o, err := parseFlags(nil, noenv)
	if err != nil {
		t.Fatal(err)
	}
	if want := (serverTimeouts{readHeader: 10 * time.Second, read: time.Minute, write: time.Minute, idle: 2 * time.Minute}); o.timeouts != want {
		t.Fatalf("default timeouts %+v, want %+v", o.timeouts, want)
	}
	for _, flag := range []string{"--read-header-timeout", "--read-timeout", "--write-timeout", "--idle-timeout"} {
		if _, err := parseFlags([]string{flag, "0"}, noenv); err == nil {
			t.Errorf("%s 0 (no limit) accepted", flag)
		}
	}
}

// trickle sends a request to addr: head at once, then one piece of drip
// every 50ms, up to 200 of them (10s), while reading what the server says.
// It returns how many pieces went out before the server closed the
// connection, and what the server answered, if anything.
func trickle(t *testing.T, addr, head, drip string) (sent int, answer string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed := make(chan string, 1)
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		b, err := io.ReadAll(conn)
		if err != nil && !strings.Contains(err.Error(), "reset") {
			closed <- "read error: " + err.Error()
			return
		}
		closed <- string(b)
	}()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for sent = 0; sent < 200; sent++ {
		select {
		case answer = <-closed:
			return sent, answer
		case <-tick.C:
		}
		if _, err := io.WriteString(conn, drip); err != nil {
			return sent, <-closed
		}
	}
	t.Fatalf("the server still listened after %d pieces sent 50ms apart", sent)
	return
}

// TestSlowClientsAreCutOff: a client that sends its headers or its body a
// little at a time (slow-loris) loses its connection once the read
// timeouts run out, while normal clients are served.
func TestSlowClientsAreCutOff(t *testing.T) {
	addr, _, stop := startBerthd(t, t.TempDir(), nil, "--read-header-timeout", "300ms", "--read-timeout", "1s")
	defer stop()

	sent, answer := trickle(t, addr, "GET /healthz HTTP/1.1\r\nHost: berth\r\n", "X-Slow: x\r\n")
	if answer != "" {
		t.Errorf("slow headers got an answer: %q", answer)
	}
	t.Logf("slow headers: cut off after %d header lines", sent)

	body := `{"email":"slow@example.com","password":"123456"}`
	head := fmt.Sprintf("POST /users HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	sent, answer = trickle(t, addr, head, " ")
	t.Logf("slow body: cut off after %d bytes", sent)
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(answer)), nil)
	if err != nil {
		t.Fatalf("slow body: unreadable answer %q", answer)
	}
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(answer, `"code":"timeout"`) {
		t.Errorf("slow body: want a JSON 408; got %q", answer)
	}

	resp, err = http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a normal client: %d", resp.StatusCode)
	}
}

// slowPost sends a POST whose body never finishes: the head at once, then
// a byte every 50ms until the server answers or closes. It returns what the
// server answered.
func slowPost(addr string) (string, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	answer := make(chan string, 1)
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		b, _ := io.ReadAll(conn)
		answer <- string(b)
	}()
	head := "POST /users HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
	if _, err := io.WriteString(conn, head); err != nil {
		return "", err
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for range 400 {
		select {
		case a := <-answer:
			return a, nil
		case <-tick.C:
		}
		if _, err := io.WriteString(conn, " "); err != nil {
			break
		}
	}
	select {
	case a := <-answer:
		return a, nil
	case <-time.After(30 * time.Second):
		return "", fmt.Errorf("no answer and no close")
	}
}

// TestSlowBodiesGet408WithEqualTimeouts: with the read and write timeouts
// equal, as they are by default, the write deadline net/http set when the
// headers arrived has passed when the body times out; every slow client
// must still get its 408.
func TestSlowBodiesGet408WithEqualTimeouts(t *testing.T) {
	addr, _, stop := startBerthd(t, t.TempDir(), nil, "--read-header-timeout", "1s", "--read-timeout", "1s", "--write-timeout", "1s")
	defer stop()
	const clients = 20
	answers := make([]string, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = slowPost(addr)
		}()
	}
	wg.Wait()
	got := 0
	for i, a := range answers {
		if errs[i] != nil {
			t.Errorf("slow client %d: %v", i, errs[i])
			continue
		}
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(a)), nil)
		if err == nil && resp.StatusCode == http.StatusRequestTimeout && strings.Contains(a, `"code":"timeout"`) {
			got++
		}
	}
	if got != clients {
		t.Fatalf("%d of %d slow clients got a 408", got, clients)
	}
}

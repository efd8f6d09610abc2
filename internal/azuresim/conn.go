package azuresim

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"strings"
)

// The Azure SDK sends some query parameters unencoded: armauthorization's
// role assignment lists append "$filter=principalId eq '<id>'" to the URL
// as is, so the request line carries spaces. Azure's front ends accept
// that; Go's HTTP server answers 400. lenientListener sits between the
// listener (after TLS) and the server and percent-encodes spaces in each
// request line's target, passing bodies through by Content-Length.

type lenientListener struct{ net.Listener }

func (l lenientListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lenientConn{Conn: c, br: bufio.NewReaderSize(c, 16<<10)}, nil
}

type lenientConn struct {
	net.Conn
	br          *bufio.Reader
	out         []byte // processed bytes not yet returned
	bodyLeft    int64
	passthrough bool // after something we cannot frame (chunked bodies)
}

const maxHead = 1 << 20

func (c *lenientConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		switch {
		case c.passthrough:
			return c.br.Read(p)
		case c.bodyLeft > 0:
			if int64(len(p)) > c.bodyLeft {
				p = p[:c.bodyLeft]
			}
			n, err := c.br.Read(p)
			c.bodyLeft -= int64(n)
			return n, err
		}
		head, err := c.readHead()
		if len(head) == 0 {
			return 0, err
		}
		c.out = head
		if err != nil {
			c.passthrough = true
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// readHead reads one request head (request line and headers), fixes the
// request line and learns the body's framing.
func (c *lenientConn) readHead() ([]byte, error) {
	var head bytes.Buffer
	first := true
	for {
		line, err := c.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			head.Write(line)
			c.passthrough = true
			return head.Bytes(), nil
		}
		if err != nil {
			head.Write(line)
			return head.Bytes(), err
		}
		if first && len(bytes.TrimRight(line, "\r\n")) == 0 {
			head.Write(line) // blank lines before a request line, which servers skip
			continue
		}
		if first {
			line = fixRequestLine(line)
			first = false
			head.Write(line)
			continue
		} else {
			k, v, ok := strings.Cut(string(bytes.TrimRight(line, "\r\n")), ":")
			if ok {
				switch strings.ToLower(strings.TrimSpace(k)) {
				case "content-length":
					if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > 0 {
						c.bodyLeft = n
					}
				case "transfer-encoding":
					c.passthrough = true
				}
			}
		}
		head.Write(line)
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return head.Bytes(), nil
		}
		if head.Len() > maxHead {
			c.passthrough = true
			return head.Bytes(), nil
		}
	}
}

// fixRequestLine percent-encodes spaces inside "METHOD target HTTP/1.x".
func fixRequestLine(line []byte) []byte {
	s := string(bytes.TrimRight(line, "\r\n"))
	first := strings.IndexByte(s, ' ')
	last := strings.LastIndexByte(s, ' ')
	if first < 0 || last <= first || !strings.HasPrefix(s[last+1:], "HTTP/") {
		return line
	}
	target := s[first+1 : last]
	if !strings.Contains(target, " ") {
		return line
	}
	return []byte(s[:first+1] + strings.ReplaceAll(target, " ", "%20") + s[last:] + "\r\n")
}

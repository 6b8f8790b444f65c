package mptcp

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// cEnums reads the enum entries of a C header (NAME or NAME = number).
func cEnums(t *testing.T, path string) map[string]int {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	body := regexp.MustCompile(`(?s)enum[^{;]*\{(.*?)\}`)
	entry := regexp.MustCompile(`^\s*([A-Z_][A-Z0-9_]*)\s*(?:=\s*(\d+))?\s*,?`)
	comment := regexp.MustCompile(`(?s)/\*.*?\*/`)
	for _, m := range body.FindAllStringSubmatch(comment.ReplaceAllString(string(b), ""), -1) {
		next := 0
		for _, line := range strings.Split(m[1], "\n") {
			e := entry.FindStringSubmatch(line)
			if e == nil {
				continue
			}
			if e[2] != "" {
				next, _ = strconv.Atoi(e[2])
			}
			out[e[1]] = next
			next++
		}
	}
	// the address flags: (1 << n) up to 6.x, _BITUL(n) in 7.3
	def := regexp.MustCompile(`(?m)^#define\s+(MPTCP_PM_ADDR_FLAG_[A-Z_]+)\s+(?:\(1 << (\d+)\)|_BITUL\((\d+)\))`)
	for _, m := range def.FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[2] + m[3])
		out[m[1]] = 1 << n
	}
	return out
}

// TestConstantsMatchUAPI checks the hand-written numbers against the uapi headers of
// every kernel whose headers are installed (tests/setup/deps.sh installs 6.1's and
// 6.12's).
func TestConstantsMatchUAPI(t *testing.T) {
	dirs, _ := filepath.Glob("/usr/src/linux-headers-*-common/include/uapi/linux")
	if len(dirs) == 0 {
		t.Fatal("no kernel headers under /usr/src (tests/setup/deps.sh installs them)")
	}
	want := map[string]int{
		"MPTCP_PM_CMD_ADD_ADDR": cmdAddAddr, "MPTCP_PM_CMD_DEL_ADDR": cmdDelAddr,
		"MPTCP_PM_CMD_GET_ADDR": cmdGetAddr, "MPTCP_PM_CMD_FLUSH_ADDRS": cmdFlushAddrs,
		"MPTCP_PM_CMD_SET_LIMITS": cmdSetLimits, "MPTCP_PM_CMD_GET_LIMITS": cmdGetLimits,
		"MPTCP_PM_CMD_SET_FLAGS": cmdSetFlags, "MPTCP_PM_CMD_ANNOUNCE": cmdAnnounce,
		"MPTCP_PM_CMD_REMOVE": cmdRemove, "MPTCP_PM_CMD_SUBFLOW_CREATE": cmdSubflowCreate,
		"MPTCP_PM_CMD_SUBFLOW_DESTROY": cmdSubflowDestroy,
		"MPTCP_PM_ATTR_ADDR":           attrAddr, "MPTCP_PM_ATTR_RCV_ADD_ADDRS": attrRcvAddAddrs,
		"MPTCP_PM_ATTR_SUBFLOWS": attrSubflows, "MPTCP_PM_ATTR_TOKEN": attrToken,
		"MPTCP_PM_ATTR_LOC_ID": attrLocID, "MPTCP_PM_ATTR_ADDR_REMOTE": attrAddrRemote,
		"MPTCP_PM_ADDR_ATTR_FAMILY": addrFamily, "MPTCP_PM_ADDR_ATTR_ID": addrID,
		"MPTCP_PM_ADDR_ATTR_ADDR4": addrAddr4, "MPTCP_PM_ADDR_ATTR_ADDR6": addrAddr6,
		"MPTCP_PM_ADDR_ATTR_PORT": addrPort, "MPTCP_PM_ADDR_ATTR_FLAGS": addrFlags,
		"MPTCP_PM_ADDR_ATTR_IF_IDX": addrIfindex,
		"MPTCP_ATTR_TOKEN":          evToken, "MPTCP_ATTR_FAMILY": evFamily, "MPTCP_ATTR_LOC_ID": evLocID,
		"MPTCP_ATTR_REM_ID": evRemID, "MPTCP_ATTR_SADDR4": evSaddr4, "MPTCP_ATTR_SADDR6": evSaddr6,
		"MPTCP_ATTR_DADDR4": evDaddr4, "MPTCP_ATTR_DADDR6": evDaddr6, "MPTCP_ATTR_SPORT": evSport,
		"MPTCP_ATTR_DPORT": evDport, "MPTCP_ATTR_BACKUP": evBackup, "MPTCP_ATTR_ERROR": evError,
		"MPTCP_ATTR_FLAGS": evFlags, "MPTCP_ATTR_TIMEOUT": evTimeout, "MPTCP_ATTR_IF_IDX": evIfindex,
		"MPTCP_ATTR_RESET_REASON": evResetReason, "MPTCP_ATTR_RESET_FLAGS": evResetFlags,
		"MPTCP_ATTR_SERVER_SIDE": evServerSide,
		"MPTCP_EVENT_CREATED":    int(EventCreated), "MPTCP_EVENT_ESTABLISHED": int(EventEstablished),
		"MPTCP_EVENT_CLOSED": int(EventClosed), "MPTCP_EVENT_ANNOUNCED": int(EventAnnounced),
		"MPTCP_EVENT_REMOVED": int(EventRemoved), "MPTCP_EVENT_SUB_ESTABLISHED": int(EventSubEstablished),
		"MPTCP_EVENT_SUB_CLOSED": int(EventSubClosed), "MPTCP_EVENT_SUB_PRIORITY": int(EventSubPriority),
		"MPTCP_EVENT_LISTENER_CREATED": int(EventListenerCreated),
		"MPTCP_EVENT_LISTENER_CLOSED":  int(EventListenerClosed),
		"MPTCP_PM_ADDR_FLAG_SIGNAL":    int(FlagSignal), "MPTCP_PM_ADDR_FLAG_SUBFLOW": int(FlagSubflow),
		"MPTCP_PM_ADDR_FLAG_BACKUP": int(FlagBackup), "MPTCP_PM_ADDR_FLAG_FULLMESH": int(FlagFullmesh),
		"MPTCP_PM_ADDR_FLAG_IMPLICIT": int(FlagImplicit), "MPTCP_PM_ADDR_FLAG_LAMINAR": int(FlagLaminar),
		// sock_diag (diag.go)
		"INET_DIAG_INFO": diagInfo, "INET_DIAG_ULP_INFO": diagULPInfo, "INET_ULP_INFO_NAME": ulpInfoName,
		"INET_ULP_INFO_MPTCP": ulpInfoMPTCP, "MPTCP_SUBFLOW_ATTR_TOKEN_LOC": subflowAttrTokLoc,
		"MPTCP_SUBFLOW_ATTR_FLAGS": subflowAttrFlags, "MPTCP_SUBFLOW_ATTR_ID_REM": subflowAttrIDRem,
		"MPTCP_SUBFLOW_ATTR_ID_LOC": subflowAttrIDLoc, "INET_DIAG_REQ_PROTOCOL": diagReqProtocol,
	}
	// newer than some of the kernels: the listener events (6.1 lacks them), laminar (6.18)
	newer := map[string]bool{"MPTCP_EVENT_LISTENER_CREATED": true, "MPTCP_EVENT_LISTENER_CLOSED": true,
		"MPTCP_PM_ADDR_FLAG_LAMINAR": true}
	for _, d := range dirs {
		got := map[string]int{}
		for _, h := range []string{"mptcp.h", "mptcp_pm.h", "inet_diag.h"} {
			if _, err := os.Stat(filepath.Join(d, h)); err == nil {
				for k, v := range cEnums(t, filepath.Join(d, h)) {
					got[k] = v
				}
			}
		}
		checked := 0
		for name, v := range want {
			g, ok := got[name]
			if !ok {
				if !newer[name] {
					t.Errorf("%s: %s not found: the header parser is broken", d, name)
				}
				continue
			}
			checked++
			if g != v {
				t.Errorf("%s: %s = %d in the header, %d here", d, name, g, v)
			}
		}
		t.Logf("%s: %d constants agree", d, checked)
	}
}

type attr struct {
	typ uint16
	b   []byte
}

func msg(cmd uint8, attrs ...attr) genetlink.Message {
	e := netlink.NewAttributeEncoder()
	for _, a := range attrs {
		e.Bytes(a.typ, a.b)
	}
	b, _ := e.Encode()
	return genetlink.Message{Header: genetlink.Header{Command: cmd}, Data: b}
}

func u32(v uint32) []byte  { b := make([]byte, 4); binary.NativeEndian.PutUint32(b, v); return b }
func be16(v uint16) []byte { b := make([]byte, 2); binary.BigEndian.PutUint16(b, v); return b }

func TestParseEvent(t *testing.T) {
	base := []attr{{evToken, u32(0xdd026872)}, {evFamily, []byte{2, 0}}, {evSaddr4, []byte{10, 9, 0, 1}},
		{evDaddr4, []byte{10, 9, 0, 2}}, {evSport, be16(33654)}, {evDport, be16(5000)}}
	// 6.1 - 6.x: SERVER_SIDE is a u8, sent on both sides
	ev, err := ParseEvent(msg(uint8(EventEstablished), append(base, attr{evServerSide, []byte{0}})...))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ev.String(), "[     ESTABLISHED] token=dd026872 saddr4=10.9.0.1 daddr4=10.9.0.2 sport=33654 dport=5000 server_side=0"; got != want {
		t.Errorf("String:\n got %q\nwant %q", got, want)
	}
	if ev.ServerSide || ev.Local() != netip.MustParseAddrPort("10.9.0.1:33654") {
		t.Errorf("decoded %+v", ev)
	}
	// newer kernels: a flag, present only on the server side
	ev, _ = ParseEvent(msg(uint8(EventCreated), append(base, attr{evServerSide, nil})...))
	if !ev.ServerSide {
		t.Error("a zero-length SERVER_SIDE (flag) must mean server side")
	}
	ev, _ = ParseEvent(msg(uint8(EventCreated), base...))
	if ev.ServerSide || ev.Has(evServerSide) {
		t.Error("absent SERVER_SIDE must mean client side")
	}
	// unknown attributes (newer kernels) are skipped
	if _, err := ParseEvent(msg(uint8(EventClosed), attr{evToken, u32(1)}, attr{60, []byte{1, 2, 3}})); err != nil {
		t.Errorf("unknown attribute: %v", err)
	}
	bad := map[string]genetlink.Message{
		"short token":     msg(uint8(EventClosed), attr{evToken, []byte{1, 2}}),
		"long saddr4":     msg(uint8(EventCreated), attr{evToken, u32(1)}, attr{evSaddr4, make([]byte, 16)}),
		"no token":        msg(uint8(EventSubEstablished), attr{evSport, be16(1)}),
		"unknown type":    msg(99, attr{evToken, u32(1)}),
		"server side u32": msg(uint8(EventCreated), attr{evToken, u32(1)}, attr{evServerSide, u32(1)}),
		"truncated":       {Header: genetlink.Header{Command: uint8(EventClosed)}, Data: []byte{8, 0, 1, 0, 1}},
	}
	for name, m := range bad {
		if _, err := ParseEvent(m); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestFlags(t *testing.T) {
	if s := (FlagSignal | FlagBackup | 0x80).String(); s != "signal backup rawflags 80" {
		t.Errorf("got %q", s)
	}
	if f, ok := ParseFlag("fullmesh"); !ok || f != FlagFullmesh {
		t.Error("ParseFlag fullmesh")
	}
}

// A subflow's inet_diag_msg: addresses and ports from the socket id, token, flags and
// ids from its MPTCP ULP info; a TCP socket without it is no subflow.
func TestParseDiagSubflow(t *testing.T) {
	m := make([]byte, diagMsgLen)
	m[0], m[1] = 10, tcpEstablished // AF_INET6
	binary.BigEndian.PutUint16(m[4:], 40002)
	binary.BigEndian.PutUint16(m[6:], 5201)
	src, dst := netip.MustParseAddr("::ffff:10.1.0.1").As16(), netip.MustParseAddr("fd01::2").As16()
	copy(m[8:], src[:])
	copy(m[24:], dst[:])
	if _, _, ok, err := parseDiagSubflow(m); ok || err != nil {
		t.Errorf("plain TCP socket: ok %v err %v, want not a subflow", ok, err)
	}
	mp := netlink.NewAttributeEncoder()
	mp.Uint32(subflowAttrTokLoc, 0xabcd1234)
	mp.Uint32(subflowAttrFlags, subflowFlagMcapLoc|0x80)
	mp.Uint8(subflowAttrIDRem, 3)
	mp.Uint8(subflowAttrIDLoc, 0)
	mpb, _ := mp.Encode()
	ulp := netlink.NewAttributeEncoder()
	ulp.String(ulpInfoName, "mptcp")
	ulp.Bytes(ulpInfoMPTCP, mpb)
	ulpb, _ := ulp.Encode()
	top := netlink.NewAttributeEncoder()
	top.Bytes(diagInfo, make([]byte, 40))
	top.Bytes(diagULPInfo, ulpb)
	topb, _ := top.Encode()
	tok, sf, ok, err := parseDiagSubflow(append(m, topb...))
	if err != nil || !ok || tok != 0xabcd1234 {
		t.Fatalf("subflow: token %08x ok %v err %v", tok, ok, err)
	}
	want := DiagSubflow{Local: netip.MustParseAddrPort("10.1.0.1:40002"), Remote: netip.MustParseAddrPort("[fd01::2]:5201"),
		Family: 10, State: tcpEstablished, Established: true, Initial: true, Client: true, RemID: 3}
	if sf != want {
		t.Errorf("subflow %+v, want %+v", sf, want)
	}
	if _, _, _, err := parseDiagSubflow(m[:40]); err == nil {
		t.Error("a short message was accepted")
	}
}

// An MPTCP socket's inet_diag_msg: its state, and its token from mptcp_info.
func TestParseDiagMPTCP(t *testing.T) {
	m := make([]byte, diagMsgLen)
	m[0], m[1] = 2, 4 // AF_INET, FIN_WAIT1
	info := make([]byte, 80)
	binary.NativeEndian.PutUint32(info[mptcpInfoToken:], 0x1234abcd)
	e := netlink.NewAttributeEncoder()
	e.Bytes(diagInfo, info)
	b, _ := e.Encode()
	tok, st, ok := parseDiagMPTCP(append(m, b...))
	if !ok || tok != 0x1234abcd || st != 4 {
		t.Errorf("token %08x state %d ok %v", tok, st, ok)
	}
	c := DiagConn{Token: tok, State: st, Subflows: []DiagSubflow{{State: tcpEstablished}}}
	if c.Live() {
		t.Error("a closed MPTCP socket with an established subflow is live")
	}
	c.State, c.Sockets = 0, true
	if c.Live() {
		t.Error("a connection whose socket the kernel no longer lists is live")
	}
	c.Sockets = false
	if !c.Live() {
		t.Error("without mptcp_diag, an established subflow does not make it live")
	}
	if _, _, ok := parseDiagMPTCP(m); ok {
		t.Error("no mptcp_info, yet a token")
	}
}

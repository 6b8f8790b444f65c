package mptcp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Info is the start of struct mptcp_info (getsockopt SOL_MPTCP/MPTCP_INFO), the fields
// every supported kernel has.
type Info struct {
	Subflows           uint8  `json:"subflows"` // additional subflows (the initial one not counted)
	AddAddrSignal      uint8  `json:"add_addr_signal"`
	AddAddrAccepted    uint8  `json:"add_addr_accepted"`
	SubflowsMax        uint8  `json:"subflows_max"`
	AddAddrSignalMax   uint8  `json:"add_addr_signal_max"`
	AddAddrAcceptedMax uint8  `json:"add_addr_accepted_max"`
	Flags              uint32 `json:"flags"`
	Token              uint32 `json:"token"`
	WriteSeq           uint64 `json:"write_seq"`
	SndUna             uint64 `json:"snd_una"`
	RcvNxt             uint64 `json:"rcv_nxt"`
	LocalAddrUsed      uint8  `json:"local_addr_used"`
	LocalAddrMax       uint8  `json:"local_addr_max"`
	CsumEnabled        uint8  `json:"csum_enabled"`
}

// GetInfo reads MPTCP_INFO of an MPTCP socket (e.g. from (*net.TCPConn).SyscallConn).
func GetInfo(rc syscall.RawConn) (Info, error) {
	buf := make([]byte, 256)
	n, err := getsockopt(rc, MPTCP_INFO, buf)
	if err != nil {
		return Info{}, fmt.Errorf("getsockopt MPTCP_INFO: %w", err)
	}
	if n < 43 {
		return Info{}, fmt.Errorf("getsockopt MPTCP_INFO: %d bytes (not an MPTCP socket, or it fell back to TCP)", n)
	}
	b := buf[:n]
	ne := binary.NativeEndian
	return Info{Subflows: b[0], AddAddrSignal: b[1], AddAddrAccepted: b[2], SubflowsMax: b[3],
		AddAddrSignalMax: b[4], AddAddrAcceptedMax: b[5], Flags: ne.Uint32(b[8:]), Token: ne.Uint32(b[12:]),
		WriteSeq: ne.Uint64(b[16:]), SndUna: ne.Uint64(b[24:]), RcvNxt: ne.Uint64(b[32:]),
		LocalAddrUsed: b[40], LocalAddrMax: b[41], CsumEnabled: b[42]}, nil
}

// Subflow is one subflow as MPTCP_SUBFLOW_ADDRS reports it.
type Subflow struct {
	Local  netip.AddrPort `json:"local"`
	Remote netip.AddrPort `json:"remote"`
}

const (
	subflowDataLen = 16  // struct mptcp_subflow_data
	subflowAddrLen = 256 // struct mptcp_subflow_addrs: two sockaddr_storage
)

// GetSubflows lists the connection's subflows from the kernel's own view
// (getsockopt SOL_MPTCP/MPTCP_SUBFLOW_ADDRS), the initial one included.
func GetSubflows(rc syscall.RawConn) ([]Subflow, error) {
	for max := 16; ; max *= 4 {
		buf := make([]byte, subflowDataLen+max*subflowAddrLen)
		ne := binary.NativeEndian
		ne.PutUint32(buf[0:], subflowDataLen)
		ne.PutUint32(buf[12:], subflowAddrLen)
		n, err := getsockopt(rc, MPTCP_SUBFLOW_ADDRS, buf)
		if err != nil {
			return nil, fmt.Errorf("getsockopt MPTCP_SUBFLOW_ADDRS: %w", err)
		}
		if n < subflowDataLen {
			return nil, fmt.Errorf("getsockopt MPTCP_SUBFLOW_ADDRS: short reply (%d bytes)", n)
		}
		num := int(ne.Uint32(buf[4:]))
		elem := int(ne.Uint32(buf[12:]))
		if elem == 0 || elem > subflowAddrLen {
			elem = subflowAddrLen
		}
		if num > max {
			continue
		}
		out := make([]Subflow, 0, num)
		for i := 0; i < num; i++ {
			off := subflowDataLen + i*elem
			if off+elem > n {
				break
			}
			e := buf[off : off+elem]
			out = append(out, Subflow{Local: sockaddr(e[:128]), Remote: sockaddr(e[128:])})
		}
		return out, nil
	}
}

func sockaddr(b []byte) netip.AddrPort {
	switch binary.NativeEndian.Uint16(b) {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:4]))
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])).Unmap(), binary.BigEndian.Uint16(b[2:4]))
	}
	return netip.AddrPort{}
}

func getsockopt(rc syscall.RawConn, opt int, buf []byte) (int, error) {
	var n int
	var serr error
	err := rc.Control(func(fd uintptr) {
		l := uint32(len(buf))
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, SOL_MPTCP, uintptr(opt),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&l)), 0)
		if e != 0 {
			serr = e
		}
		n = int(l)
	})
	if err != nil {
		return 0, err
	}
	return n, serr
}

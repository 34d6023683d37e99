/* Constants shared by the ZMTP 3.x modules: frame flag bits (RFC 37 "Framing"), protocol
 * error codes with libzmq's numbers (zmq.h ZMQ_PROTOCOL_ERROR_ZMTP_*, reported in monitor
 * events), and the limits the decoder enforces. */
#ifndef SINEW_ZMTP_ZMTP_H
#define SINEW_ZMTP_ZMTP_H

#include <stdint.h>

/* Frame flag bits as on the wire (RFC 37 "Framing"). LONG is an encoding detail: encoders
 * derive it from the size and decoders strip it before reporting flags. */
#define SN_ZMTP_FLAG_MORE 0x01
#define SN_ZMTP_FLAG_LONG 0x02
#define SN_ZMTP_FLAG_COMMAND 0x04
#define SN_ZMTP_FLAG_RESERVED 0xf8

/* Protocol error codes: same values as libzmq so monitor events read the same. Functions
 * that fail on peer input return -EPROTO (or -EMSGSIZE for size limits) and store one of
 * these in an `int *err` out-parameter or in their object. */
#define SN_ZMTP_ERR_UNSPECIFIED 0x10000000
#define SN_ZMTP_ERR_UNEXPECTED_COMMAND 0x10000001
#define SN_ZMTP_ERR_INVALID_SEQUENCE 0x10000002
#define SN_ZMTP_ERR_KEY_EXCHANGE 0x10000003
#define SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED 0x10000011
#define SN_ZMTP_ERR_MALFORMED_COMMAND_MESSAGE 0x10000012
#define SN_ZMTP_ERR_MALFORMED_COMMAND_HELLO 0x10000013
#define SN_ZMTP_ERR_MALFORMED_COMMAND_INITIATE 0x10000014
#define SN_ZMTP_ERR_MALFORMED_COMMAND_ERROR 0x10000015
#define SN_ZMTP_ERR_MALFORMED_COMMAND_READY 0x10000016
#define SN_ZMTP_ERR_MALFORMED_COMMAND_WELCOME 0x10000017
#define SN_ZMTP_ERR_INVALID_METADATA 0x10000018
#define SN_ZMTP_ERR_CRYPTOGRAPHIC 0x11000001
#define SN_ZMTP_ERR_MECHANISM_MISMATCH 0x11000002

/* Largest command body the decoder buffers by default. Commands are small (READY with a
 * 255-byte Identity is ~300 bytes, CURVE INITIATE ~257 + metadata); a cap keeps a hostile
 * peer from making us allocate 2^63 bytes for something we must hold whole. */
#define SN_ZMTP_COMMAND_MAX_DEFAULT 65536

#endif

// SDHCI command engine: sends one 48-bit command token on CMD and receives
// its response (48 or 136 bits), checking CRC7, index and end bit.
//
// All state advances on `tick` (the clk edge at which sdclk rises). Slot k
// below means the SD cycle whose rising edge is tick k.
//   tick r0      : first tick at or after the cycle `start` is seen, and at
//                  least 8 ticks after the previous command finished (NRC,
//                  NCC); start bit put on cmd_o
//   ticks r0..r0+47 : token bits 0..47 (card samples bit k at tick r0+1+k)
//   tick E=r0+48 : card has sampled the end bit; CMD released; `sent` is high
//                  during this tick; without response, `done` follows it
//   ticks E+1..E+65 : response start bit accepted (NCR up to 64 idle cycles);
//                  still high at tick E+65 -> `done` with command timeout
//   tick S..S+L-1: response bits (L = 48 or 136); `rsp_end` is high during
//                  the end-bit tick, `done` (with the checks and the
//                  response bits) is the registered pulse after it
`default_nettype none

module sdhci_cmd (
    input  wire         clk,
    input  wire         rst,        // synchronous: rst_n low, reset all or reset CMD
    input  wire         tick,
    input  wire         start,
    input  wire [5:0]   index,
    input  wire [31:0]  argument,
    input  wire [1:0]   rsp_type,   // 00 none, 01 136-bit, 10 48-bit, 11 48-bit busy
    input  wire         crc_check,
    input  wire         index_check,
    input  wire         cmd_i,
    output reg          cmd_o,
    output reg          cmd_oe,
    output wire         active,
    output wire         sent,       // high during tick E
    output wire         rsp_end,    // high during the tick of the response end bit
    output reg          done,       // pulse after the command finished (with or without response)
    output reg          err_timeout,
    output reg          err_crc,
    output reg          err_end,
    output reg          err_index,
    output wire [119:0] rsp         // R2: register bits 127..8; short: bits 31..0 = status
);
`include "sdhci_crc.vh"

    localparam [2:0] IDLE = 3'd0, PEND = 3'd1, SEND = 3'd2, WAIT = 3'd3, RECV = 3'd4;

    reg [2:0]   state;
    reg [47:0]  tx;          // token, bit 47 first
    reg [6:0]   crc;
    reg [7:0]   cnt;
    reg         long_rsp;
    reg         want_rsp;
    reg [5:0]   want_index;
    reg         chk_crc, chk_index;
    reg [127:0] rx;          // the last 128 received bits, newest in bit 0
    reg [3:0]   idle;        // ticks since the last command finished, saturating

    // NRC/NCC: 8 idle cells after a response end bit (or a command end bit
    // without response) before the next start bit.
    wire spaced = (idle >= 4'd7);

    assign active = (state != IDLE);
    assign rsp = long_rsp ? rx[127:8] : {88'd0, rx[39:8]};

    wire [7:0] rsp_last = long_rsp ? 8'd135 : 8'd47;
    // CRC7 covers token bits 0..39 of a short response, 8..127 of an R2.
`ifdef SDHCI_DEFECT_R2_CRC7
    // Injected defect (docs/kit.md): the R2 CRC7 window starts one bit early.
    wire in_crc = long_rsp ? (cnt >= 8'd7 && cnt < 8'd128) : (cnt < 8'd40);
`else
    wire in_crc = long_rsp ? (cnt >= 8'd8 && cnt < 8'd128) : (cnt < 8'd40);
`endif

    wire [47:0] token = {2'b01, index, argument, 8'h01};

    assign sent = tick && (state == SEND) && (cnt == 8'd48);
    assign rsp_end = tick && (state == RECV) && (cnt == rsp_last);

    // Enable (exact: 0 only when the body would change nothing; see README, Simulation speed): idle and spaced with nothing to start.
    wire quiet = !rst && !done && (state == IDLE) && !start && (!tick || idle == 4'hF);
    always @(posedge clk) if ((!quiet)) begin
        done <= 1'b0;
        if (tick && idle != 4'hF)
            idle <= idle + 4'd1;
        if (rst) begin
            idle <= 4'hF;
            state <= IDLE;
            cmd_o <= 1'b1;
            cmd_oe <= 1'b0;
            tx <= 48'd0;
            crc <= 7'd0;
            cnt <= 8'd0;
            long_rsp <= 1'b0;
            want_rsp <= 1'b0;
            want_index <= 6'd0;
            chk_crc <= 1'b0;
            chk_index <= 1'b0;
            rx <= 128'd0;
            err_timeout <= 1'b0;
            err_crc <= 1'b0;
            err_end <= 1'b0;
            err_index <= 1'b0;
        end else begin
            case (state)
                IDLE: if (start) begin
                    long_rsp <= (rsp_type == 2'b01);
                    want_rsp <= (rsp_type != 2'b00);
                    want_index <= index;
                    chk_crc <= crc_check;
                    chk_index <= index_check;
                    if (tick && spaced) begin
                        // A tick in the same cycle: the start bit goes out now.
                        cmd_oe <= 1'b1;
                        cmd_o <= 1'b0;
                        crc <= 7'd0;          // CRC7 of the start bit (0) from 0
                        tx <= {token[46:0], 1'b0};
                        cnt <= 8'd1;
                        state <= SEND;
                    end else begin
                        tx <= token;
                        state <= PEND;
                    end
                end
                PEND: if (tick && spaced) begin
                    cmd_oe <= 1'b1;
                    cmd_o <= tx[47];
                    crc <= crc7_step(7'd0, tx[47]);
                    tx <= {tx[46:0], 1'b0};
                    cnt <= 8'd1;
                    state <= SEND;
                end
                SEND: if (tick) begin
                    cnt <= cnt + 8'd1;
                    if (cnt < 8'd40) begin
                        cmd_o <= tx[47];
                        crc <= crc7_step(crc, tx[47]);
                        tx <= {tx[46:0], 1'b0};
                    end else if (cnt < 8'd47) begin
                        cmd_o <= crc[6];
                        crc <= {crc[5:0], 1'b0};
                    end else if (cnt == 8'd47) begin
                        cmd_o <= 1'b1;
                    end else begin
                        cmd_oe <= 1'b0;
                        cmd_o <= 1'b1;
                        cnt <= 8'd0;
                        err_timeout <= 1'b0;
                        err_crc <= 1'b0;
                        err_end <= 1'b0;
                        err_index <= 1'b0;
                        if (want_rsp) begin
                            state <= WAIT;
                        end else begin
                            done <= 1'b1;
                            idle <= 4'd0;
                            state <= IDLE;
                        end
                    end
                end
                WAIT: if (tick) begin
                    if (!cmd_i) begin
                        crc <= 7'd0;      // CRC7 of the start bit (0) from 0 is 0
                        rx <= 128'd0;
                        cnt <= 8'd1;
                        state <= RECV;
                    end else if (cnt == 8'd64) begin
                        err_timeout <= 1'b1;
                        done <= 1'b1;
                        idle <= 4'd0;
                        state <= IDLE;
                    end else begin
                        cnt <= cnt + 8'd1;
                    end
                end
                RECV: if (tick) begin
                    rx <= {rx[126:0], cmd_i};
                    if (in_crc)
                        crc <= crc7_step(crc, cmd_i);
                    cnt <= cnt + 8'd1;
                    if (rsp_end) begin
                        // rx still holds bits 0..L-2: the CRC7 field in 6:0,
                        // a short response's index in 44:39.
                        err_crc <= chk_crc && (crc != rx[6:0]);
                        err_end <= !cmd_i;
                        err_index <= chk_index && !long_rsp && (rx[44:39] != want_index);
                        done <= 1'b1;
                        idle <= 4'd0;
                        state <= IDLE;
                    end
                end
                default: state <= IDLE;
            endcase
        end
    end
endmodule

`default_nettype wire

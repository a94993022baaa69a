// SDHCI data engine: the PIO buffer (one block of up to 512 bytes), block
// transmit with CRC16 per DAT line and CRC status token, busy detection on
// DAT0, block receive with CRC16/end-bit checks, the data timeout counter,
// block counting and the Auto CMD12 request.
//
// State advances on `tick` (the clk edge at which sdclk rises, see
// sdhci_clkdiv); the data timeout counter counts clk cycles (TMCLK = clk).
// Timing of each phase, in ticks, is listed in rtl_model/README.md.
`default_nettype none

module sdhci_dat (
    input  wire        clk,
    input  wire        rst,         // synchronous: rst_n low, reset all or reset DAT
    input  wire        tick,
    input  wire [7:0]  dat_i,
    output reg  [7:0]  dat_o,
    output reg         dat_oe,
    output wire        hold,        // stop sdclk: block in buffer, more to come
    // transfer parameters (live register values)
    input  wire [1:0]  bus_width,   // 0: 1-bit, 1: 4-bit, 2: 8-bit
    input  wire [11:0] block_size,
    input  wire [15:0] block_count,
    input  wire        multi_block,
    input  wire        block_count_en,
    input  wire        read_dir,
    input  wire        auto_cmd12,
    input  wire [3:0]  timeout_n,
    output reg         block_count_dec,
    // from the command side
    input  wire        xfer_start,  // a command with data was issued
    input  wire        busy_start,  // an R1b command without data was issued
    input  wire        cmd_sent,
    input  wire        cmd_rsp_end,
    input  wire        cmd_done,
    input  wire        cmd_err,
    output reg         acmd_req,
    input  wire        acmd_done,
    input  wire        acmd_err,
    // Buffer Data Port
    input  wire        buf_we,
    input  wire [31:0] buf_wdata,
    input  wire [3:0]  buf_wstrb,
    input  wire        buf_re,
    output wire [31:0] buf_rdata,
    // Present State
    output reg         inhibit,
    output reg         line_active,
    output reg         wr_active,
    output reg         rd_active,
    output reg         buf_wr_en,
    output reg         buf_rd_en,
    // interrupt events (one clk pulses)
    output reg         ev_xfer_done,
    output reg         ev_buf_wr_ready,
    output reg         ev_buf_rd_ready,
    output reg         ev_timeout,
    output reg         ev_crc,
    output reg         ev_end_bit
);
    localparam [3:0] IDLE = 4'd0, R1B_RSP = 4'd1, W_WAIT = 4'd2, W_DATA = 4'd3,
                     W_CRCS = 4'd4, W_TOKEN = 4'd5, BUSY = 4'd6, ACMD = 4'd7,
                     R_ARM = 4'd8, R_WAIT = 4'd9, R_DATA = 4'd10, R_HOLD = 4'd11,
                     R_DRAIN = 4'd12;
    localparam [1:0] PH_START = 2'd0, PH_DATA = 2'd1, PH_CRC = 2'd2, PH_END = 2'd3;
    localparam [1:0] AFTER_BLOCK = 2'd0, AFTER_FINAL = 2'd1, AFTER_READ = 2'd2;

    reg [3:0]  state;
    reg [1:0]  phase;
    reg [1:0]  after_busy;
    reg [9:0]  byte_idx;
    reg [2:0]  sub;          // bit (1-bit) or nibble (4-bit) within the byte, counting down
    reg [3:0]  cnt;
    reg [1:0]  gap;          // ticks since the last reference point, saturating
    reg        rsp_wait;     // the data command's response is still to come
    reg        rsp_ok;
    reg        last_q;
    reg        acmd_failed;  // read: Auto CMD12 failed, the buffer still drains
    reg        buf_full;
    reg [6:0]  host_ptr;     // Buffer Data Port word pointer
    reg [6:0]  byte_hi;      // received high nibble / partial byte
    reg [2:0]  token;
    reg [27:0] tmo_cnt;
    reg [127:0] crc;         // CRC16s, bit-sliced: bit k of DAT line l in bit 8k+l
    reg [31:0] mem [0:127];

    wire [7:0]  used = (bus_width == 2'd2) ? 8'hFF : (bus_width == 2'd1) ? 8'h0F : 8'h01;
    wire [2:0]  sub_first = (bus_width == 2'd2) ? 3'd0 : (bus_width == 2'd1) ? 3'd1 : 3'd7;
    wire [9:0]  last_byte = block_size[9:0] - 10'd1;
    wire [6:0]  last_word = last_byte[8:2];
    wire        last_block = !multi_block || (block_count_en && block_count == 16'd1);
    wire [3:0]  tmo_exp = (timeout_n > 4'd14) ? 4'd14 : timeout_n;
    wire [27:0] tmo_last = (28'd1 << (5'd13 + {1'b0, tmo_exp})) - 28'd1;
    wire        tmo_run = (state == R_WAIT) || (state == BUSY);

    assign hold = (state == R_HOLD);
    // Blocks are at most 512 bytes (Capabilities: Max Block Length 512).
    wire unused_size = ^block_size[11:10];

    // ---- buffer: one write port shared by host writes and received bytes ----
    wire [31:0] tx_word = mem[byte_idx[8:2]];
    wire [7:0]  tx_byte = tx_word[{byte_idx[1:0], 3'b000} +: 8];
    wire [7:0]  tx_bits = (bus_width == 2'd2) ? tx_byte :
                          (bus_width == 2'd1) ? {4'hF, sub[0] ? tx_byte[7:4] : tx_byte[3:0]} :
                                                {7'h7F, tx_byte[sub]};
    wire        rx_byte_done = (sub == 3'd0);
    wire [7:0]  rx_byte = (bus_width == 2'd2) ? dat_i :
                          (bus_width == 2'd1) ? {byte_hi[3:0], dat_i[3:0]} :
                                                {byte_hi, dat_i[0]};
    wire        eng_we = tick && (state == R_DATA) && (phase == PH_DATA) && rx_byte_done;
    wire        host_we = buf_we && buf_wr_en;
    wire        mem_we = eng_we || host_we;
    wire [6:0]  mem_addr = eng_we ? byte_idx[8:2] : host_ptr;
    wire [31:0] mem_wd = eng_we ? {4{rx_byte}} : buf_wdata;
    wire [3:0]  mem_be = eng_we ? (4'b0001 << byte_idx[1:0]) : buf_wstrb;

    always @(posedge clk) begin
        if (mem_we) begin
            if (mem_be[0]) mem[mem_addr][7:0] <= mem_wd[7:0];
            if (mem_be[1]) mem[mem_addr][15:8] <= mem_wd[15:8];
            if (mem_be[2]) mem[mem_addr][23:16] <= mem_wd[23:16];
            if (mem_be[3]) mem[mem_addr][31:24] <= mem_wd[31:24];
        end
    end
`ifdef SDHCI_DEFECT_STALE_BUFFER_READ
    // Injected defect (docs/kit.md): a Buffer Data Port read within 4 clk of
    // the previous one returns the previous word again.
    reg [31:0] prev_word;
    reg [2:0]  since_read;
    always @(posedge clk) begin
        if (rst) begin
            prev_word <= 32'd0;
            since_read <= 3'd7;
        end else if (buf_re && buf_rd_en) begin
            prev_word <= mem[host_ptr];
            since_read <= 3'd0;
        end else if (since_read != 3'd7) begin
            since_read <= since_read + 3'd1;
        end
    end
    assign buf_rdata = (since_read < 3'd4) ? prev_word : mem[host_ptr];
`else
    assign buf_rdata = mem[host_ptr];
`endif

    // ---- per-line CRC16, bit-sliced: crc[8k +: 8] holds bit k of the CRC16
    // of all eight DAT lines (lane l in bit l), so one vector step advances
    // every line: the feedback bits enter slice 0 and are XORed into slices
    // 5 and 12 (x^16 + x^12 + x^5 + 1). Only evaluated when it changes. ----
    wire [7:0] crc_in = (state == W_DATA) ? tx_bits : dat_i;
    wire       crc_feed = tick && (((state == W_DATA) && (phase == PH_DATA)) ||
                                   ((state == R_DATA) && (phase == PH_DATA || phase == PH_CRC)));
    wire       crc_clear = tick && ((state == W_WAIT) || (state == R_WAIT));
    wire       crc_shift = tick && (state == W_DATA) && (phase == PH_CRC);
    wire [7:0] crc_msb = crc[127:120];
    wire [7:0] crc_fb = crc_msb ^ crc_in;
    wire [63:0] crc_or64 = crc[127:64] | crc[63:0];
    wire [31:0] crc_or32 = crc_or64[63:32] | crc_or64[31:0];
    wire [15:0] crc_or16 = crc_or32[31:16] | crc_or32[15:0];
    wire [7:0] crc_nonzero = crc_or16[15:8] | crc_or16[7:0];
    wire crc_update = rst || crc_clear || crc_feed || crc_shift;
    always @(posedge clk) if ((crc_update)) begin
        if (rst || crc_clear)
            crc <= 128'd0;
        else if (crc_feed)
            crc <= {crc[119:96], crc[95:88] ^ crc_fb, crc[87:40], crc[39:32] ^ crc_fb, crc[31:0], crc_fb};
        else if (crc_shift)
            crc <= {crc[119:0], 8'd0};
    end

    // ---- data timeout counter (TMCLK = clk) ----
    wire tmo_settled = !rst && !tmo_run && (tmo_cnt == 28'd0);
    always @(posedge clk) if ((!tmo_settled)) begin
        if (rst || !tmo_run)
            tmo_cnt <= 28'd0;
        else
            tmo_cnt <= tmo_cnt + 28'd1;
    end
    wire tmo_hit = tmo_run && (tmo_cnt == tmo_last);

    // ---- transfer sequencing ----
    task automatic stop_transfer;
        begin
            state <= IDLE;
            dat_oe <= 1'b0;
            dat_o <= 8'hFF;
            inhibit <= 1'b0;
            line_active <= 1'b0;
            wr_active <= 1'b0;
            rd_active <= 1'b0;
            buf_wr_en <= 1'b0;
            buf_rd_en <= 1'b0;
            buf_full <= 1'b0;
        end
    endtask

    // Enable (exact: 0 only when the body would change nothing; see README, Simulation speed): idle with nothing arriving.
    wire pulses = block_count_dec || acmd_req || ev_xfer_done || ev_buf_wr_ready || ev_buf_rd_ready
                  || ev_timeout || ev_crc || ev_end_bit;
    wire quiet = !rst && (state == IDLE) && !pulses && !xfer_start && !busy_start && !rsp_wait && !rsp_ok
                 && !acmd_failed && (host_ptr == 7'd0) && (!tick || gap == 2'd3) && !host_we
                 && !(buf_re && buf_rd_en);
    always @(posedge clk) if ((!quiet)) begin
        block_count_dec <= 1'b0;
        acmd_req <= 1'b0;
        ev_xfer_done <= 1'b0;
        ev_buf_wr_ready <= 1'b0;
        ev_buf_rd_ready <= 1'b0;
        ev_timeout <= 1'b0;
        ev_crc <= 1'b0;
        ev_end_bit <= 1'b0;
        if (rst) begin
            stop_transfer();
            phase <= PH_START;
            after_busy <= AFTER_BLOCK;
            byte_idx <= 10'd0;
            sub <= 3'd0;
            cnt <= 4'd0;
            gap <= 2'd0;
            rsp_wait <= 1'b0;
            rsp_ok <= 1'b0;
            last_q <= 1'b0;
            acmd_failed <= 1'b0;
            host_ptr <= 7'd0;
            byte_hi <= 7'd0;
            token <= 3'd0;
        end else begin
            if (tick && gap != 2'd3)
                gap <= gap + 2'd1;
            if (cmd_rsp_end && (rsp_wait || state == ACMD))
                gap <= 2'd0;
            if (cmd_done && rsp_wait) begin
                rsp_wait <= 1'b0;
                rsp_ok <= !cmd_err;
            end

            // Host side of the buffer.
            if (host_we) begin
                host_ptr <= host_ptr + 7'd1;
                if (host_ptr == last_word) begin
                    buf_wr_en <= 1'b0;
                    buf_full <= 1'b1;
                end
            end
            if (buf_re && buf_rd_en) begin
                host_ptr <= host_ptr + 7'd1;
                if (host_ptr == last_word)
                    buf_rd_en <= 1'b0;
            end

            case (state)
                IDLE: begin
                    rsp_ok <= 1'b0;
                    acmd_failed <= 1'b0;
                    host_ptr <= 7'd0;
                    if (xfer_start) begin
                        inhibit <= 1'b1;
                        rsp_wait <= 1'b1;
                        if (read_dir) begin
                            state <= R_ARM;
                        end else begin
                            buf_wr_en <= 1'b1;
                            ev_buf_wr_ready <= 1'b1;
                            state <= W_WAIT;
                        end
                    end else if (busy_start) begin
                        inhibit <= 1'b1;
                        rsp_wait <= 1'b1;
                        state <= R1B_RSP;
                    end
                end
`ifdef SDHCI_DEFECT_R1B_BUSY_WINDOW
                // Injected defect (docs/kit.md): R1b busy looked for from the
                // command's end bit, before the response (and the busy) came.
                R1B_RSP: if (cmd_sent || cmd_done) begin
                    if (cmd_done && cmd_err) begin
`else
                R1B_RSP: if (cmd_done) begin
                    if (cmd_err) begin
`endif
                        stop_transfer();
                    end else begin
                        line_active <= 1'b1;
                        after_busy <= AFTER_FINAL;
                        state <= BUSY;
                    end
                end
                W_WAIT: begin
                    if (cmd_sent && rsp_wait) begin
                        line_active <= 1'b1;
                        wr_active <= 1'b1;
                    end
                    if (cmd_done && rsp_wait && cmd_err) begin
                        stop_transfer();
                    end else if (tick && buf_full && rsp_ok && gap != 2'd0) begin
                        // Start bit on the second tick after the
                        // response end bit or the end of busy (NWR = 2).
                        dat_oe <= 1'b1;
                        dat_o <= ~used;
                        byte_idx <= 10'd0;
                        sub <= sub_first;
                        phase <= PH_DATA;
                        state <= W_DATA;
                    end
                end
                W_DATA: if (tick) begin
                    case (phase)
                        PH_DATA: begin
                            dat_o <= tx_bits | ~used;
                            if (sub == 3'd0) begin
                                byte_idx <= byte_idx + 10'd1;
                                sub <= sub_first;
                                if (byte_idx == last_byte) begin
                                    phase <= PH_CRC;
                                    cnt <= 4'd0;
                                end
                            end else begin
                                sub <= sub - 3'd1;
                            end
                        end
                        PH_CRC: begin
                            dat_o <= crc_msb | ~used;
                            cnt <= cnt + 4'd1;
                            if (cnt == 4'd15)
                                phase <= PH_END;
                        end
                        PH_END: begin
                            dat_o <= 8'hFF;
                            phase <= PH_START;
                        end
                        default: begin
                            // The card has sampled the end bit: release the
                            // lines and free the buffer.
                            dat_oe <= 1'b0;
                            buf_full <= 1'b0;
                            host_ptr <= 7'd0;
                            last_q <= last_block;
                            if (multi_block && block_count_en)
                                block_count_dec <= 1'b1;
                            if (!last_block) begin
                                buf_wr_en <= 1'b1;
                                ev_buf_wr_ready <= 1'b1;
                            end
                            cnt <= 4'd0;
                            state <= W_CRCS;
                        end
                    endcase
                end
                W_CRCS: if (tick) begin
                    if (!dat_i[0]) begin
                        cnt <= 4'd0;
                        state <= W_TOKEN;
                    end else if (cnt == 4'd9) begin
                        // No CRC status token: the host reads status 111.
                        ev_crc <= 1'b1;
                        stop_transfer();
                    end else begin
                        cnt <= cnt + 4'd1;
                    end
                end
                W_TOKEN: if (tick) begin
                    cnt <= cnt + 4'd1;
                    if (cnt < 4'd3) begin
                        token <= {token[1:0], dat_i[0]};
                    end else if (token != 3'b010) begin
                        ev_crc <= 1'b1;
                        stop_transfer();
                    end else begin
                        if (last_q)
                            wr_active <= 1'b0;
                        gap <= 2'd0;
                        after_busy <= AFTER_BLOCK;
                        state <= BUSY;
`ifdef SDHCI_DEFECT_EARLY_XFER_COMPLETE
                        // Injected defect (docs/kit.md): Transfer Complete at the
                        // last block's CRC status, before the card's busy ends.
                        if (last_q && !auto_cmd12) begin
                            ev_xfer_done <= 1'b1;
                            stop_transfer();
                        end
`endif
                    end
                end
                BUSY: begin
                    if (tmo_hit) begin
                        ev_timeout <= 1'b1;
                        stop_transfer();
                    end else if (tick && gap != 2'd0 && dat_i[0]) begin
                        gap <= 2'd0;
                        case (after_busy)
                            AFTER_BLOCK: begin
                                if (!last_q) begin
                                    state <= W_WAIT;
                                end else if (auto_cmd12) begin
                                    acmd_req <= 1'b1;
                                    state <= ACMD;
                                end else begin
                                    ev_xfer_done <= 1'b1;
                                    stop_transfer();
                                end
                            end
                            AFTER_READ: state <= R_DRAIN;
                            default: begin
                                ev_xfer_done <= 1'b1;
                                stop_transfer();
                            end
                        endcase
                    end
                end
                ACMD: if (acmd_done) begin
                    if (acmd_err && read_dir) begin
                        // The last block stays readable; no Transfer Complete.
                        acmd_failed <= 1'b1;
                        state <= R_DRAIN;
                    end else if (acmd_err) begin
                        stop_transfer();
                    end else begin
                        after_busy <= read_dir ? AFTER_READ : AFTER_FINAL;
                        state <= BUSY;
                    end
                end
                R_ARM: begin
                    if (cmd_done && rsp_wait && cmd_err) begin
                        stop_transfer();
                    end else if (cmd_sent && rsp_wait) begin
                        line_active <= 1'b1;
                        rd_active <= 1'b1;
                        state <= R_WAIT;
                    end
                end
                R_WAIT: begin
                    if (cmd_done && rsp_wait && cmd_err) begin
                        stop_transfer();
                    end else if (tmo_hit) begin
                        ev_timeout <= 1'b1;
                        stop_transfer();
                    end else if (tick && !dat_i[0]) begin
                        byte_idx <= 10'd0;
                        sub <= sub_first;
                        phase <= PH_DATA;
                        state <= R_DATA;
                    end
                end
                R_DATA: begin
                    if (cmd_done && rsp_wait && cmd_err) begin
                        stop_transfer();
                    end else if (tick) begin
                        case (phase)
                            PH_DATA: begin
                                if (bus_width == 2'd1)
                                    byte_hi <= {3'd0, dat_i[3:0]};
                                else
                                    byte_hi <= {byte_hi[5:0], dat_i[0]};
                                if (sub == 3'd0) begin
                                    byte_idx <= byte_idx + 10'd1;
                                    sub <= sub_first;
                                    if (byte_idx == last_byte) begin
                                        phase <= PH_CRC;
                                        cnt <= 4'd0;
                                    end
                                end else begin
                                    sub <= sub - 3'd1;
                                end
                            end
                            PH_CRC: begin
                                cnt <= cnt + 4'd1;
                                if (cnt == 4'd15)
                                    phase <= PH_END;
                            end
                            default: begin
                                // End bit: check it and the CRC16 residues.
                                if ((dat_i & used) != used) begin
                                    ev_end_bit <= 1'b1;
                                    stop_transfer();
                                end else if ((crc_nonzero & used) != 8'd0) begin
                                    ev_crc <= 1'b1;
                                    stop_transfer();
                                end else begin
                                    buf_rd_en <= 1'b1;
                                    ev_buf_rd_ready <= 1'b1;
                                    host_ptr <= 7'd0;
                                    if (multi_block && block_count_en)
                                        block_count_dec <= 1'b1;
                                    if (!last_block) begin
                                        state <= R_HOLD;
                                    end else begin
                                        line_active <= 1'b0;
                                        if (auto_cmd12) begin
                                            acmd_req <= 1'b1;
                                            state <= ACMD;
                                        end else begin
                                            state <= R_DRAIN;
                                        end
                                    end
                                end
                            end
                        endcase
                    end
                end
                R_HOLD: if (!buf_rd_en)
                    state <= R_WAIT;
                R_DRAIN: begin
                    // Short blocks can end before the command's response.
                    if (cmd_done && rsp_wait && cmd_err) begin
                        stop_transfer();
                    end else if (!buf_rd_en && !rsp_wait) begin
                        ev_xfer_done <= !acmd_failed;
                        stop_transfer();
                    end
                end
                default: stop_transfer();
            endcase
        end
    end
endmodule

`default_nettype wire

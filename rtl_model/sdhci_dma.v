// sdhci_dma: SDMA and ADMA2 (32-bit descriptors) between host memory
// (through sdhci_axi_master) and the data engine's one-block buffer.
//
// It owns the DMA registers: SDMA System Address (0x00), ADMA System Address
// (0x58, 0x5C) and ADMA Error Status (0x54); the register file reads them
// from here. It sits between the data engine and the register file on the
// buffer side: while Transfer Mode's DMA Enable is set with a supported DMA
// Select (00 SDMA, 10 ADMA2 32-bit), it is the buffer's only client, the
// Buffer Data Port ignores the host and Buffer Write/Read Enable and Ready
// stay 0 for software (SDHCI v3.00 2.2.9, 2.2.17: they serve PIO only).
//
// Per block: a write transfer fills the buffer from memory when the data
// engine frees it (at the command, then after each block's end bit); a read
// transfer empties each received block to memory (the data engine holds the
// SD clock meanwhile). Transfer Complete and Command Inhibit (DAT) wait for
// the last memory write's response.
//
// SDMA: the address advances by each block; when a block crosses or reaches
// a buffer boundary (4 KiB << Block Size 14:12) and more blocks follow, DMA
// Interrupt is raised and the engine waits until the upper byte of SDMA
// System Address is written (v3.00 2.2.1). The register always holds the next
// address: after the transfer, the end of the data.
//
// ADMA2: descriptors are fetched as blocks need data; ADMA System Address
// advances past each one fetched (a link loads its target), so after a
// transfer it points past the last descriptor fetched. Valid, End, Int and
// the actions tran (length 0 = 65536 bytes), link and nop (and reserved, as
// nop) are honoured; a link's End and Int are ignored. Addresses and lengths
// are taken in whole 32-bit words (bits 1:0 ignored).
//
// Errors raise ADMA Error (Error Interrupt Status 9) and stop the engine until
// the next transfer or a DAT/all reset: an invalid descriptor or a bus error
// on a descriptor fetch (ADMA Error Status ST_FDS, the address points at that
// descriptor); a bus error on data (ST_TFR, past the descriptor); End reached
// before Block Count (ST_TFR with Length Mismatch). The specification gives
// SDMA no error status: a bus error raises ADMA Error and leaves ADMA Error
// Status alone (Linux's sdhci.c enables ADMA Error for SDMA requests too,
// sdhci_set_transfer_irqs, and fails the request with -EIO on it).
`default_nettype none

module sdhci_dma (
    input  wire        clk,
    input  wire        rst_n,
    input  wire        srst_all,
    input  wire        srst_dat,
    // register bus: writes to the DMA registers
    input  wire        wr_en,
    input  wire [11:0] wr_addr,
    input  wire [31:0] wr_data,
    input  wire [3:0]  wr_strb,
    output reg  [31:0] sdma_address,
    output reg  [31:0] adma_address,
    output reg  [31:0] adma_address_hi,    // stored only: no 64-bit system bus
    output reg  [2:0]  adma_error_status,
    // transfer parameters (register file)
    input  wire        dma_enable,         // Transfer Mode 0
    input  wire [1:0]  dma_select,         // Host Control 1 4:3
    input  wire [2:0]  sdma_boundary,      // Block Size 14:12
    input  wire [11:0] block_size,
    input  wire [15:0] block_count,
    input  wire        multi_block,
    input  wire        block_count_en,
    input  wire        read_dir,
    input  wire        xfer_start,
    // data engine, as it reports itself
    input  wire        dat_buf_wr_en,
    input  wire        dat_buf_rd_en,
    input  wire        dat_ev_buf_wr_ready,
    input  wire        dat_ev_buf_rd_ready,
    input  wire        dat_ev_xfer_done,
    input  wire        dat_inhibit,
    input  wire [31:0] buf_rdata,
    // Buffer Data Port accesses from the register file
    input  wire        host_buf_we,
    input  wire [31:0] host_buf_wdata,
    input  wire [3:0]  host_buf_wstrb,
    input  wire        host_buf_re,
    // to the data engine's buffer port
    output wire        buf_we,
    output wire [31:0] buf_wdata,
    output wire [3:0]  buf_wstrb,
    output wire        buf_re,
    // to the register file: Present State and interrupt events
    output wire        buf_wr_en,
    output wire        buf_rd_en,
    output wire        ev_buf_wr_ready,
    output wire        ev_buf_rd_ready,
    output wire        ev_xfer_done,
    output wire        inhibit,
    output reg         ev_dma_int,
    output reg         ev_adma_err,
    // sdhci_axi_master
    output wire        m_req,
    output wire        m_req_write,
    output wire [31:2] m_req_addr,
    output wire [7:0]  m_req_words,
    input  wire        m_idle,
    input  wire        m_done,
    input  wire        m_err,
    input  wire        m_rd_beat,
    input  wire [31:0] m_rd_data,
    output wire [31:0] m_wr_data,
    input  wire        m_wr_beat
);
    /* verilator lint_off UNUSEDPARAM */
`include "sdhci_regmap.vh"
    /* verilator lint_on UNUSEDPARAM */

    localparam [2:0] S_IDLE = 3'd0,    // no block in hand
                     S_PLAN = 3'd1,    // decide the block's next step
                     S_DESC = 3'd2,    // descriptor fetch in flight
                     S_DATA = 3'd3,    // data segment in flight
                     S_ABORT = 3'd4;   // software reset: wait for the bus to finish
    localparam [1:0] ACT_TRAN = 2'b10, ACT_LINK = 2'b11;
    localparam [2:0] ERR_ST_FDS = 3'b001, ERR_ST_TFR = 3'b011,
                     ERR_LENGTH = SDHCI_ADMA_ERROR_STATUS_ADMA_LENGTH_MISMATCH_ERROR_MASK[2:0];

    // ---- DMA registers (writes merged by byte strobe) ----
    wire [31:0] strb_mask = {{8{wr_strb[3]}}, {8{wr_strb[2]}}, {8{wr_strb[1]}}, {8{wr_strb[0]}}};
    wire        wr_top = wr_en && (wr_addr[11:8] == 4'd0);
    wire        wr_sdma = wr_top && ({wr_addr[7:2], 2'b00} == SDHCI_SDMA_SYSTEM_ADDRESS_OFFSET);
    wire        wr_adma = wr_top && ({wr_addr[7:2], 2'b00} == SDHCI_ADMA_SYSTEM_ADDRESS_OFFSET);
    wire        wr_adma_hi = wr_top && ({wr_addr[7:2], 2'b00} == SDHCI_ADMA_SYSTEM_ADDRESS_HI_OFFSET);
    wire [1:0]  unused_wr = wr_addr[1:0];

    // ---- mode ----
    wire sdma = (dma_select == 2'b00);
    wire dma_on = dma_enable && (dma_select == 2'b00 || dma_select == 2'b10);
    wire regs_rst = !rst_n || srst_all;

    reg [2:0]  state;
    reg        paused;       // SDMA at a buffer boundary
    reg        failed;       // stopped by an error until the next transfer
    reg        tc_pending;   // the data engine finished, the last memory write has not
    reg [7:0]  need;         // words the current block still needs
    reg [7:0]  seg_words;    // words of the segment in flight
    reg        desc_second;  // the descriptor's first word has arrived
    reg [31:0] desc_attr;    // descriptor word 0: attributes 15:0, length 31:16
    reg [31:0] desc_addr;    // descriptor word 1: address
    reg [31:2] cur_addr;     // ADMA2: next data word of the current tran descriptor
    reg [14:0] rem_words;    // ADMA2: words left in it
    reg        int_pending;  // ADMA2: it carries Int
    reg        end_seen;     // ADMA2: a descriptor with End was executed

    // Blocks after the current one: a write's Block Count still counts the
    // block being fetched, a read's has counted the block being stored.
    wire       more_blocks = multi_block && (!block_count_en || block_count > (read_dir ? 16'd0 : 16'd1));
    wire [7:0] block_words = block_size[9:2];
    wire [1:0] unused_size = block_size[1:0] | block_size[11:10];
    // A write's first block is fetched from the command's issue (xfer_start), a
    // clk before the data engine reports its buffer free.
    wire       start_block = dma_on && !paused && !failed
                             && (read_dir ? dat_buf_rd_en : (dat_buf_wr_en || xfer_start));

    // ---- the step planned in S_PLAN ----
    wire [7:0]  adma_chunk = (rem_words < {7'd0, need}) ? rem_words[7:0] : need;
    wire        plan_data = (state == S_PLAN) && need != 8'd0 && (sdma || rem_words != 15'd0);
    wire        plan_desc = (state == S_PLAN) && need != 8'd0 && !sdma && rem_words == 15'd0 && !end_seen;
    wire        plan_short = (state == S_PLAN) && need != 8'd0 && !sdma && rem_words == 15'd0 && end_seen;
    assign m_req = plan_data || plan_desc;
    assign m_req_write = plan_data && read_dir;
    assign m_req_addr = plan_desc ? adma_address[31:2] : sdma ? sdma_address[31:2] : cur_addr;
    assign m_req_words = plan_desc ? 8'd2 : sdma ? need : adma_chunk;
    assign m_wr_data = buf_rdata;

    // ---- descriptor fields ----
    wire        d_valid = desc_attr[0];
    wire        d_end = desc_attr[1];
    wire        d_int = desc_attr[2];
    wire [1:0]  d_act = desc_attr[5:4];
    wire [15:0] d_len = desc_attr[31:16];
    wire        unused_desc = ^{desc_attr[15:6], desc_attr[3], desc_addr[1:0]};

    // ---- SDMA buffer boundary: crossed or reached by the block just moved ----
    wire [31:0] sdma_next = sdma_address + {22'd0, seg_words, 2'b00};
    wire [31:0] boundary_mask = 32'hFFFF_F000 << sdma_boundary;
    wire        at_boundary = ((sdma_address ^ sdma_next) & boundary_mask) != 32'd0;

    // ---- buffer side ----
    wire dma_buf_we = (state == S_DATA) && m_rd_beat;
    wire dma_buf_re = (state == S_DATA) && m_wr_beat;
    assign buf_we = dma_buf_we || (host_buf_we && !dma_on);
    assign buf_wdata = dma_buf_we ? m_rd_data : host_buf_wdata;
    assign buf_wstrb = dma_buf_we ? 4'hF : host_buf_wstrb;
    assign buf_re = dma_buf_re || (host_buf_re && !dma_on);
    assign buf_wr_en = dat_buf_wr_en && !dma_on;
    assign buf_rd_en = dat_buf_rd_en && !dma_on;
    assign ev_buf_wr_ready = dat_ev_buf_wr_ready && !dma_on;
    assign ev_buf_rd_ready = dat_ev_buf_rd_ready && !dma_on;

    wire busy = (state != S_IDLE);
    assign inhibit = dat_inhibit || busy;
    assign ev_xfer_done = (dat_ev_xfer_done || tc_pending) && !busy && !failed;

    // Enable (exact: 0 only when the body would change nothing; see README, Simulation speed).
    wire quiet = !regs_rst && !srst_dat && state == S_IDLE && !start_block && !xfer_start
                 && !wr_sdma && !wr_adma && !wr_adma_hi && !ev_dma_int && !ev_adma_err && !tc_pending;
    always @(posedge clk) if ((!quiet)) begin
        ev_dma_int <= 1'b0;
        ev_adma_err <= 1'b0;
        if (regs_rst) begin
            sdma_address <= 32'd0;
            adma_address <= 32'd0;
            adma_address_hi <= 32'd0;
            adma_error_status <= 3'd0;
        end
        if (!rst_n) begin
            state <= S_IDLE;
            need <= 8'd0;
            seg_words <= 8'd0;
            desc_second <= 1'b0;
            desc_attr <= 32'd0;
            desc_addr <= 32'd0;
            cur_addr <= 30'd0;
        end else if (srst_all || srst_dat) begin
            state <= S_ABORT;
        end
        if (!rst_n || srst_all || srst_dat || xfer_start) begin
            paused <= 1'b0;
            failed <= 1'b0;
            tc_pending <= 1'b0;
            rem_words <= 15'd0;
            int_pending <= 1'b0;
            end_seen <= 1'b0;
        end
        if (rst_n && !srst_all && !srst_dat) begin
            if (wr_sdma)
                sdma_address <= (sdma_address & ~strb_mask) | (wr_data & strb_mask);
            if (wr_sdma && wr_strb[3])
                paused <= 1'b0;                 // the upper byte restarts SDMA
            if (wr_adma)
                adma_address <= (adma_address & ~strb_mask) | (wr_data & strb_mask);
            if (wr_adma_hi)
                adma_address_hi <= (adma_address_hi & ~strb_mask) | (wr_data & strb_mask);
            if (!xfer_start)
                tc_pending <= (dat_ev_xfer_done || tc_pending) && busy && !failed;

            case (state)
                S_IDLE: if (start_block) begin
                    need <= block_words;
                    state <= S_PLAN;
                end
                S_PLAN: begin
                    seg_words <= m_req_words;
                    desc_second <= 1'b0;
                    if (need == 8'd0) begin
                        state <= S_IDLE;
                    end else if (plan_short) begin
                        // The table ended before Block Count did.
                        adma_error_status <= ERR_ST_TFR | ERR_LENGTH;
                        failed <= 1'b1;
                        ev_adma_err <= 1'b1;
                        state <= S_IDLE;
                    end else begin
                        state <= plan_desc ? S_DESC : S_DATA;
                    end
                end
                S_DESC: begin
                    if (m_rd_beat) begin
                        desc_second <= 1'b1;
                        if (desc_second)
                            desc_addr <= m_rd_data;
                        else
                            desc_attr <= m_rd_data;
                    end
                    if (m_done) begin
                        state <= S_PLAN;
                        if (m_err || !d_valid) begin
                            adma_error_status <= ERR_ST_FDS;
                            failed <= 1'b1;
                            ev_adma_err <= 1'b1;
                            state <= S_IDLE;
                        end else if (d_act == ACT_LINK) begin
                            adma_address <= {desc_addr[31:2], 2'b00};
                        end else begin
                            adma_address <= adma_address + 32'd8;
                            end_seen <= d_end;
                            if (d_act == ACT_TRAN) begin
                                cur_addr <= desc_addr[31:2];
                                rem_words <= (d_len == 16'd0) ? 15'h4000 : {1'b0, d_len[15:2]};   // 0: 65536 bytes
                                int_pending <= d_int;
                            end else if (d_int) begin
                                ev_dma_int <= 1'b1;
                            end
                        end
                    end
                end
                S_DATA: if (m_done) begin
                    state <= S_PLAN;
                    if (m_err) begin
                        if (!sdma)
                            adma_error_status <= ERR_ST_TFR;
                        failed <= 1'b1;
                        ev_adma_err <= 1'b1;
                        state <= S_IDLE;
                    end else begin
                        need <= need - seg_words;
                        if (sdma) begin
                            sdma_address <= sdma_next;
                            if (at_boundary && more_blocks) begin
                                paused <= 1'b1;
                                ev_dma_int <= 1'b1;
                            end
                        end else begin
                            cur_addr <= cur_addr + {22'd0, seg_words};
                            rem_words <= rem_words - {7'd0, seg_words};
                            if (rem_words == {7'd0, seg_words} && int_pending) begin
                                int_pending <= 1'b0;
                                ev_dma_int <= 1'b1;
                            end
                        end
                    end
                end
                default: if (m_idle)                 // S_ABORT
                    state <= S_IDLE;
            endcase
        end
    end
endmodule

`default_nettype wire

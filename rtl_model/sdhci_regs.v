// SDHCI v3.00 register file: register bus side of the AXI4-Lite slave,
// command issue, Auto CMD12 sequencing, response registers, interrupt
// status/enable/signal logic, Present State and software reset.
//
// Decode is per 32-bit word; byte strobes select the bytes written, so 8-,
// 16- and 32-bit accesses work at their offsets. Words that hold no register
// of the specification answer SLVERR (see rd_err/wr_err).
`default_nettype none

module sdhci_regs #(
    parameter integer BASE_CLK_MHZ = 50
) (
    input  wire         clk,
    input  wire         rst_n,
    // register bus (from sdhci_axil)
    input  wire         wr_en,
    input  wire [11:0]  wr_addr,
    input  wire [31:0]  wr_data,
    input  wire [3:0]   wr_strb,
    output wire         wr_err,
    input  wire         rd_en,
    input  wire [11:0]  rd_addr,
    output reg  [31:0]  rd_data,
    output wire         rd_err,
    // software reset pulses (registered)
    output reg          srst_all,
    output reg          srst_cmd,
    output reg          srst_dat,
    // clock generator
    output wire         int_clk_en,
    output wire         sd_clk_en,
    output wire [9:0]   clk_div,
    input  wire         int_clk_stable,
    // command engine
    output wire         cmd_start,
    output wire [5:0]   cmd_index,
    output wire [31:0]  cmd_argument,
    output wire [1:0]   cmd_rsp_type,
    output wire         cmd_crc_check,
    output wire         cmd_index_check,
    input  wire         cmd_active,
    input  wire         cmd_sent,
    input  wire         cmd_done,
    input  wire         cmd_err_timeout,
    input  wire         cmd_err_crc,
    input  wire         cmd_err_end,
    input  wire         cmd_err_index,
    input  wire [119:0] cmd_rsp,
    // data engine
    output wire [1:0]   bus_width,
    output wire [11:0]  block_size,
    output wire [15:0]  block_count,
    output wire         multi_block,
    output wire         block_count_en,
    output wire         read_dir,
    output wire         auto_cmd12,
    output wire [3:0]   timeout_n,
    input  wire         block_count_dec,
    output reg          xfer_start,
    output reg          busy_start,
    output wire         dat_cmd_sent,
    output wire         dat_cmd_done,
    output wire         dat_cmd_err,
    input  wire         acmd_req,
    output wire         acmd_done,
    output wire         acmd_err,
    output wire         buf_we,
    output wire         buf_re,
    input  wire [31:0]  buf_rdata,
    input  wire         dat_inhibit,
    input  wire         dat_line_active,
    input  wire         wr_active,
    input  wire         rd_active,
    input  wire         buf_wr_en,
    input  wire         buf_rd_en,
    input  wire         ev_xfer_done,
    input  wire         ev_buf_wr_ready,
    input  wire         ev_buf_rd_ready,
    input  wire         ev_data_timeout,
    input  wire         ev_data_crc,
    input  wire         ev_data_end_bit,
    // DMA (sdhci_dma): its registers, the fields it reads, its events
    input  wire [31:0]  sdma_address,
    input  wire [31:0]  adma_address,
    input  wire [31:0]  adma_address_hi,
    input  wire [2:0]   adma_error_status,
    output wire         dma_enable,
    output wire [1:0]   dma_select,
    output wire [2:0]   sdma_boundary,
    input  wire         ev_dma_int,
    input  wire         ev_adma_err,
    // pins, for the Present State line levels
    input  wire         cmd_i,
    input  wire [3:0]   dat_i,
    output wire         irq
);
    /* verilator lint_off UNUSEDPARAM */
`include "sdhci_regmap.vh"
    /* verilator lint_on UNUSEDPARAM */

    // ---- Capabilities: what this RTL implements (see README) ----
    localparam [31:0] CAPABILITIES =
        (BASE_CLK_MHZ % 64)                      // timeout clock = base clock,
        | SDHCI_CAPABILITIES_TIMEOUT_CLOCK_UNIT_MASK   // in MHz
        | ((BASE_CLK_MHZ % 256) << 8)
        | SDHCI_CAPABILITIES_SUPPORT_8BIT_EMBEDDED_MASK
        | SDHCI_CAPABILITIES_ADMA2_SUPPORT_MASK
        | SDHCI_CAPABILITIES_SDMA_SUPPORT_MASK
        | SDHCI_CAPABILITIES_HIGH_SPEED_SUPPORT_MASK
        | SDHCI_CAPABILITIES_VOLTAGE_SUPPORT_3V3_MASK
        | (32'd1 << 30);                         // slot type: embedded
    localparam [15:0] VERSION = SDHCI_HOST_CONTROLLER_VERSION_RESET;

    // ---- writable bits (generated from sdhci.regmap, v3.00) ----
    localparam [15:0] BLOCK_SIZE_RW = SDHCI_BLOCK_SIZE_RW_V3;
    localparam [15:0] TRANSFER_MODE_RW = SDHCI_TRANSFER_MODE_RW_V3;
    localparam [15:0] COMMAND_RW = SDHCI_COMMAND_RW_V3;
    localparam [7:0]  HOST_CONTROL_1_RW = SDHCI_HOST_CONTROL_1_RW_V3;
    localparam [7:0]  POWER_RW = SDHCI_POWER_CONTROL_RW_V3;
    localparam [7:0]  BLOCK_GAP_RW = SDHCI_BLOCK_GAP_CONTROL_RW_V3;
    localparam [7:0]  WAKEUP_RW = SDHCI_WAKEUP_CONTROL_RW_V3;
    localparam [15:0] CLOCK_RW = SDHCI_CLOCK_CONTROL_RW_V3;
    localparam [7:0]  TIMEOUT_RW = SDHCI_TIMEOUT_CONTROL_RW_V3;
    localparam [15:0] NORMAL_ENABLE_RW = SDHCI_NORMAL_INTERRUPT_STATUS_ENABLE_RW_V3;
    localparam [15:0] ERROR_ENABLE_RW = SDHCI_ERROR_INTERRUPT_STATUS_ENABLE_RW_V3;
    localparam [15:0] NORMAL_SIGNAL_RW = SDHCI_NORMAL_INTERRUPT_SIGNAL_ENABLE_RW_V3;
    localparam [15:0] ERROR_SIGNAL_RW = SDHCI_ERROR_INTERRUPT_SIGNAL_ENABLE_RW_V3;
    localparam [15:0] HOST_CONTROL_2_RW = SDHCI_HOST_CONTROL_2_RW_V3;
    // Status bits this controller can raise.
    localparam [15:0] NORMAL_EVENTS = SDHCI_NORMAL_INTERRUPT_STATUS_COMMAND_COMPLETE_MASK
                                    | SDHCI_NORMAL_INTERRUPT_STATUS_TRANSFER_COMPLETE_MASK
                                    | SDHCI_NORMAL_INTERRUPT_STATUS_DMA_INTERRUPT_MASK
                                    | SDHCI_NORMAL_INTERRUPT_STATUS_BUFFER_WRITE_READY_MASK
                                    | SDHCI_NORMAL_INTERRUPT_STATUS_BUFFER_READ_READY_MASK;
    localparam [15:0] ERROR_EVENTS = SDHCI_ERROR_INTERRUPT_STATUS_COMMAND_TIMEOUT_ERROR_MASK
                                   | SDHCI_ERROR_INTERRUPT_STATUS_COMMAND_CRC_ERROR_MASK
                                   | SDHCI_ERROR_INTERRUPT_STATUS_COMMAND_END_BIT_ERROR_MASK
                                   | SDHCI_ERROR_INTERRUPT_STATUS_COMMAND_INDEX_ERROR_MASK
                                   | SDHCI_ERROR_INTERRUPT_STATUS_DATA_TIMEOUT_ERROR_MASK
                                   | SDHCI_ERROR_INTERRUPT_STATUS_DATA_CRC_ERROR_MASK
                                   | SDHCI_ERROR_INTERRUPT_STATUS_DATA_END_BIT_ERROR_MASK
                                   | SDHCI_ERROR_INTERRUPT_STATUS_AUTO_CMD_ERROR_MASK
                                   | SDHCI_ERROR_INTERRUPT_STATUS_ADMA_ERROR_MASK;
    localparam [15:0] AUTO_CMD_EVENTS = SDHCI_AUTO_CMD_ERROR_STATUS_AUTO_CMD12_NOT_EXECUTED_MASK
                                      | SDHCI_AUTO_CMD_ERROR_STATUS_AUTO_CMD_TIMEOUT_ERROR_MASK
                                      | SDHCI_AUTO_CMD_ERROR_STATUS_AUTO_CMD_CRC_ERROR_MASK
                                      | SDHCI_AUTO_CMD_ERROR_STATUS_AUTO_CMD_END_BIT_ERROR_MASK
                                      | SDHCI_AUTO_CMD_ERROR_STATUS_AUTO_CMD_INDEX_ERROR_MASK
                                      | SDHCI_AUTO_CMD_ERROR_STATUS_COMMAND_NOT_ISSUED_BY_AUTO_CMD12_ERROR_MASK;

    // ---- word decode ----
    function automatic decoded(input [11:2] addr);
        begin
            case ({addr[7:2], 2'b00})
                SDHCI_SDMA_SYSTEM_ADDRESS_OFFSET, SDHCI_BLOCK_SIZE_OFFSET, SDHCI_ARGUMENT_OFFSET,
                SDHCI_TRANSFER_MODE_OFFSET, SDHCI_RESPONSE0_OFFSET, SDHCI_RESPONSE1_OFFSET,
                SDHCI_RESPONSE2_OFFSET, SDHCI_RESPONSE3_OFFSET, SDHCI_BUFFER_DATA_PORT_OFFSET,
                SDHCI_PRESENT_STATE_OFFSET, SDHCI_HOST_CONTROL_1_OFFSET, SDHCI_CLOCK_CONTROL_OFFSET,
                SDHCI_NORMAL_INTERRUPT_STATUS_OFFSET, SDHCI_NORMAL_INTERRUPT_STATUS_ENABLE_OFFSET,
                SDHCI_NORMAL_INTERRUPT_SIGNAL_ENABLE_OFFSET, SDHCI_AUTO_CMD_ERROR_STATUS_OFFSET,
                SDHCI_CAPABILITIES_OFFSET, SDHCI_CAPABILITIES_1_OFFSET,
                SDHCI_MAXIMUM_CURRENT_CAPABILITIES_OFFSET,
                SDHCI_FORCE_EVENT_AUTO_CMD_ERROR_STATUS_OFFSET, SDHCI_ADMA_ERROR_STATUS_OFFSET,
                SDHCI_ADMA_SYSTEM_ADDRESS_OFFSET, SDHCI_ADMA_SYSTEM_ADDRESS_HI_OFFSET,
                SDHCI_PRESET_VALUE_INIT_OFFSET, SDHCI_PRESET_VALUE_HIGH_SPEED_OFFSET,
                SDHCI_PRESET_VALUE_SDR25_OFFSET, SDHCI_PRESET_VALUE_SDR104_OFFSET,
                SDHCI_SLOT_INTERRUPT_STATUS_OFFSET:
                    decoded = (addr[11:8] == 4'd0);
                default: decoded = 1'b0;
            endcase
        end
    endfunction

    function automatic [31:0] merge(input [31:0] old, input [31:0] data, input [3:0] strb);
        integer b;
        begin
            for (b = 0; b < 4; b = b + 1)
                merge[8*b +: 8] = strb[b] ? data[8*b +: 8] : old[8*b +: 8];
        end
    endfunction

    assign wr_err = !decoded(wr_addr[11:2]);
    assign rd_err = !decoded(rd_addr[11:2]);
    wire [7:0] wr_word = {wr_addr[7:2], 2'b00};
    wire [7:0] rd_word = {rd_addr[7:2], 2'b00};
    wire wr_ok = wr_en && !wr_err;

    // ---- registers ----
    reg  [15:0]  block_size_q, block_count_q;
    reg  [31:0]  argument_q;
    reg  [15:0]  transfer_mode, command;
    reg  [127:0] response;
    reg  [7:0]   host_control_1, power_control, block_gap_control, wakeup_control;
    reg  [15:0]  clock_control;
    reg  [7:0]   timeout_control;
    reg  [15:0]  normal_status, error_status;
    reg  [15:0]  normal_enable, error_enable, normal_signal, error_signal;
    reg  [15:0]  auto_cmd_status, host_control_2;
    reg          issue_pending;   // a command write accepted, engine not yet started
    reg          acmd_pending;    // Auto CMD12 requested, waiting for the CMD line
    reg          acmd_active;     // the command engine runs the Auto CMD12

    wire [31:0] w_size = {block_count_q, block_size_q};
    wire [31:0] w_mode = {command, transfer_mode};
    wire [31:0] w_host = {wakeup_control, block_gap_control, power_control, host_control_1};
    wire [31:0] w_clock = {8'd0, timeout_control, clock_control};
    wire [31:0] w_enable = {error_enable, normal_enable};
    wire [31:0] w_signal = {error_signal, normal_signal};
    wire [31:0] w_acmd = {host_control_2, auto_cmd_status};

    wire [31:0] new_size = merge(w_size, wr_data, wr_strb);
    wire [31:0] new_mode = merge(w_mode, wr_data, wr_strb);
    wire [31:0] new_host = merge(w_host, wr_data, wr_strb);
    wire [31:0] new_clock = merge(w_clock, wr_data, wr_strb);
    wire [31:0] new_enable = merge(w_enable, wr_data, wr_strb);
    wire [31:0] new_signal = merge(w_signal, wr_data, wr_strb);
    wire [31:0] new_acmd = merge(w_acmd, wr_data, wr_strb);
    wire unused_merge = ^{new_clock[31:24], new_acmd[15:0], wr_addr[1:0], rd_addr[1:0]};
    wire [31:0] w1c = (wr_ok && wr_word == SDHCI_NORMAL_INTERRUPT_STATUS_OFFSET) ?
                      (wr_data & {{8{wr_strb[3]}}, {8{wr_strb[2]}}, {8{wr_strb[1]}}, {8{wr_strb[0]}}}) : 32'd0;
    wire [31:0] force_ev = (wr_ok && wr_word == SDHCI_FORCE_EVENT_AUTO_CMD_ERROR_STATUS_OFFSET) ?
                      (wr_data & {{8{wr_strb[3]}}, {8{wr_strb[2]}}, {8{wr_strb[1]}}, {8{wr_strb[0]}}}) : 32'd0;

    // The Command register's upper byte issues the command.
    wire cmd_write = (wr_ok && wr_word == SDHCI_TRANSFER_MODE_OFFSET) && wr_strb[3];
    wire [15:0] cmd_new = new_mode[31:16] & COMMAND_RW;
    wire cmd_needs_dat = cmd_new[5] || (cmd_new[1:0] == 2'b11);
    wire cmd_inhibit = issue_pending || cmd_active || acmd_pending;
    wire dat_inhibit_all = (issue_pending && (command[5] || command[1:0] == 2'b11)) || dat_inhibit;
    wire issue = cmd_write && !cmd_inhibit && !(cmd_needs_dat && dat_inhibit_all);
    wire acmd_go = (acmd_req || acmd_pending) && !cmd_active && !issue_pending;

    wire regs_rst = !rst_n || srst_all;

    // The always bodies below carry exact enables (see README, Simulation speed).
    wire srst_wr = rst_n && wr_ok && wr_word == SDHCI_CLOCK_CONTROL_OFFSET && wr_strb[3];
    always @(posedge clk) begin
        if ((!rst_n || srst_wr || srst_all || srst_cmd || srst_dat)) begin
            srst_all <= srst_wr && wr_data[24];
            srst_cmd <= srst_wr && wr_data[25];
            srst_dat <= srst_wr && wr_data[26];
        end
    end

    // command issue and Auto CMD12 sequencing
    wire seq_event = regs_rst || srst_cmd || issue || issue_pending || xfer_start || busy_start
                     || acmd_req || acmd_pending || cmd_done;
    always @(posedge clk) if ((seq_event)) begin
        xfer_start <= 1'b0;
        busy_start <= 1'b0;
        if (regs_rst || srst_cmd) begin
            issue_pending <= 1'b0;
            acmd_pending <= 1'b0;
            acmd_active <= 1'b0;
        end else begin
            if (issue) begin
                issue_pending <= 1'b1;
                xfer_start <= cmd_new[5];
                busy_start <= !cmd_new[5] && (cmd_new[1:0] == 2'b11);
            end else begin
                issue_pending <= 1'b0;
            end
            acmd_pending <= (acmd_req || acmd_pending) && !acmd_go;
            if (acmd_go)
                acmd_active <= 1'b1;
            else if (cmd_done)
                acmd_active <= 1'b0;
        end
    end
    assign cmd_start = issue_pending || acmd_go;
    assign cmd_index = acmd_active || acmd_go ? 6'd12 : command[13:8];
    assign cmd_argument = acmd_active || acmd_go ? 32'd0 : argument_q;
    assign cmd_rsp_type = acmd_active || acmd_go ? 2'b11 : command[1:0];
    assign cmd_crc_check = acmd_active || acmd_go ? 1'b1 : command[3];
    assign cmd_index_check = acmd_active || acmd_go ? 1'b1 : command[4];

    wire cmd_any_err = cmd_err_timeout | cmd_err_crc | cmd_err_end | cmd_err_index;
    assign dat_cmd_sent = cmd_sent && !acmd_active;
    assign dat_cmd_done = cmd_done && !acmd_active;
    assign dat_cmd_err = cmd_any_err;
    assign acmd_done = cmd_done && acmd_active;
    assign acmd_err = cmd_any_err;
    assign buf_we = (wr_ok && wr_word == SDHCI_BUFFER_DATA_PORT_OFFSET);
    assign buf_re = rd_en && !rd_err && (rd_word == SDHCI_BUFFER_DATA_PORT_OFFSET);

    // interrupt events of this cycle
    wire [15:0] normal_ev = {10'd0, ev_buf_rd_ready, ev_buf_wr_ready, ev_dma_int, 1'b0, ev_xfer_done,
                             dat_cmd_done && !cmd_err_timeout};
    wire [4:0]  acmd_ev = acmd_done ? {cmd_err_index, cmd_err_end, cmd_err_crc, cmd_err_timeout, 1'b0} : 5'd0;
    wire [15:0] error_ev = {6'd0, ev_adma_err, (acmd_ev != 5'd0), 1'b0, ev_data_end_bit, ev_data_crc, ev_data_timeout,
                            dat_cmd_done ? {cmd_err_index, cmd_err_end, cmd_err_crc, cmd_err_timeout} : 4'd0}
                           | force_ev[31:16];

    wire enable_wr = wr_ok && wr_word == SDHCI_NORMAL_INTERRUPT_STATUS_ENABLE_OFFSET;
    wire [15:0] normal_enable_next = enable_wr ? new_enable[15:0] & NORMAL_ENABLE_RW : normal_enable;
    wire [15:0] error_enable_next = enable_wr ? new_enable[31:16] & ERROR_ENABLE_RW : error_enable;
    wire regs_event = regs_rst || wr_ok || block_count_dec || cmd_done || srst_cmd || srst_dat
                      || (normal_ev != 16'd0) || (error_ev != 16'd0);
    always @(posedge clk) if ((regs_event)) begin
        if (regs_rst) begin
            block_size_q <= SDHCI_BLOCK_SIZE_RESET;
            block_count_q <= SDHCI_BLOCK_COUNT_RESET;
            argument_q <= SDHCI_ARGUMENT_RESET;
            transfer_mode <= SDHCI_TRANSFER_MODE_RESET;
            command <= SDHCI_COMMAND_RESET;
            response <= 128'd0;
            host_control_1 <= SDHCI_HOST_CONTROL_1_RESET;
            power_control <= SDHCI_POWER_CONTROL_RESET;
            block_gap_control <= SDHCI_BLOCK_GAP_CONTROL_RESET;
            wakeup_control <= SDHCI_WAKEUP_CONTROL_RESET;
            clock_control <= SDHCI_CLOCK_CONTROL_RESET;
            timeout_control <= SDHCI_TIMEOUT_CONTROL_RESET;
            normal_status <= SDHCI_NORMAL_INTERRUPT_STATUS_RESET;
            error_status <= SDHCI_ERROR_INTERRUPT_STATUS_RESET;
            normal_enable <= SDHCI_NORMAL_INTERRUPT_STATUS_ENABLE_RESET;
            error_enable <= SDHCI_ERROR_INTERRUPT_STATUS_ENABLE_RESET;
            normal_signal <= SDHCI_NORMAL_INTERRUPT_SIGNAL_ENABLE_RESET;
            error_signal <= SDHCI_ERROR_INTERRUPT_SIGNAL_ENABLE_RESET;
            auto_cmd_status <= SDHCI_AUTO_CMD_ERROR_STATUS_RESET;
            host_control_2 <= SDHCI_HOST_CONTROL_2_RESET;
        end else begin
            // Block Size/Count: writes ignored during a transaction (SDHCI
            // v3.00 2.2.2/2.2.3), i.e. while Command Inhibit (DAT) is 1.
            if (wr_ok && wr_word == SDHCI_BLOCK_SIZE_OFFSET && !dat_inhibit_all) begin
                block_size_q <= new_size[15:0] & BLOCK_SIZE_RW;
                block_count_q <= new_size[31:16];
            end else if (block_count_dec) begin
                block_count_q <= block_count_q - 16'd1;
            end
            if ((wr_ok && wr_word == SDHCI_ARGUMENT_OFFSET))
                argument_q <= merge(argument_q, wr_data, wr_strb);
            // Transfer Mode: writes ignored while Command Inhibit (DAT) is 1
            // (SDHCI v3.00 2.2.5). Command: a write of its upper byte that
            // does not issue (inhibited) is ignored as a whole, so the command
            // in flight keeps its response type.
            if (wr_ok && wr_word == SDHCI_TRANSFER_MODE_OFFSET && !dat_inhibit_all)
                transfer_mode <= new_mode[15:0] & TRANSFER_MODE_RW;
            if (wr_ok && wr_word == SDHCI_TRANSFER_MODE_OFFSET && (!cmd_write || issue))
                command <= cmd_new;
            if ((wr_ok && wr_word == SDHCI_HOST_CONTROL_1_OFFSET)) begin
                host_control_1 <= new_host[7:0] & HOST_CONTROL_1_RW;
                power_control <= new_host[15:8] & POWER_RW;
                block_gap_control <= new_host[23:16] & BLOCK_GAP_RW;
                wakeup_control <= new_host[31:24] & WAKEUP_RW;
            end else if (srst_dat) begin
                block_gap_control <= block_gap_control
                    & ~SDHCI_BLOCK_GAP_CONTROL_STOP_AT_BLOCK_GAP_REQUEST_MASK;
            end
            if ((wr_ok && wr_word == SDHCI_CLOCK_CONTROL_OFFSET)) begin
                clock_control <= new_clock[15:0] & CLOCK_RW;
                timeout_control <= new_clock[23:16] & TIMEOUT_RW;
            end
            normal_enable <= normal_enable_next;
            error_enable <= error_enable_next;
            if ((wr_ok && wr_word == SDHCI_NORMAL_INTERRUPT_SIGNAL_ENABLE_OFFSET)) begin
                normal_signal <= new_signal[15:0] & NORMAL_SIGNAL_RW;
                error_signal <= new_signal[31:16] & ERROR_SIGNAL_RW;
            end
            if ((wr_ok && wr_word == SDHCI_AUTO_CMD_ERROR_STATUS_OFFSET))
                host_control_2 <= new_acmd[31:16] & HOST_CONTROL_2_RW;

            // Responses: R2 fills bits 119:0; a short response bits 31:0; an
            // Auto CMD12 response bits 127:96.
            if (cmd_done && !cmd_err_timeout) begin
                if (acmd_active)
                    response[127:96] <= cmd_rsp[31:0];
                else if (command[1:0] == 2'b01)
                    response <= {8'd0, cmd_rsp};
                else
                    response[31:0] <= cmd_rsp[31:0];
            end
            if (acmd_done)
                auto_cmd_status <= {11'd0, acmd_ev};
            else if (force_ev[15:0] != 16'd0)
                auto_cmd_status <= auto_cmd_status | (force_ev[15:0] & AUTO_CMD_EVENTS);

            // Interrupt status: set by enabled events, cleared by writing 1;
            // a CMD or DAT line reset clears its own completion bits.
            // A Status Enable bit at 0 masks its status bit: clearing the
            // enable clears a latched status bit too (SDHCI v3.00 2.2.17:
            // the Status Enable affects reads of the status register).
            normal_status <= ((normal_status & ~w1c[15:0]) | (normal_ev & normal_enable)) & NORMAL_EVENTS
                & normal_enable_next
                & ~(srst_cmd ? SDHCI_NORMAL_INTERRUPT_STATUS_COMMAND_COMPLETE_MASK : 16'd0)
                & ~(srst_dat ? (SDHCI_NORMAL_INTERRUPT_STATUS_TRANSFER_COMPLETE_MASK
                                | SDHCI_NORMAL_INTERRUPT_STATUS_DMA_INTERRUPT_MASK
                                | SDHCI_NORMAL_INTERRUPT_STATUS_BUFFER_WRITE_READY_MASK
                                | SDHCI_NORMAL_INTERRUPT_STATUS_BUFFER_READ_READY_MASK) : 16'd0);
            error_status <= ((error_status & ~w1c[31:16]) | (error_ev & error_enable)) & ERROR_EVENTS
                & error_enable_next;
        end
    end

    // ---- outputs to the engines ----
    assign int_clk_en = clock_control[0];
    assign sd_clk_en = clock_control[2];
    assign clk_div = {clock_control[7:6], clock_control[15:8]};
    assign bus_width = host_control_1[5] ? 2'd2 : host_control_1[1] ? 2'd1 : 2'd0;
    assign block_size = block_size_q[11:0];
    assign block_count = block_count_q;
    assign multi_block = transfer_mode[5];
    assign block_count_en = transfer_mode[1];
    assign read_dir = transfer_mode[4];
    assign auto_cmd12 = (transfer_mode[3:2] == 2'b01);
    assign timeout_n = timeout_control[3:0];
    assign dma_enable = transfer_mode[0];
    assign dma_select = host_control_1[4:3];
    assign sdma_boundary = block_size_q[14:12];

    wire [15:0] normal_view = normal_status | {(error_status != 16'd0), 15'd0};
    assign irq = ((normal_status & normal_signal) != 16'd0) || ((error_status & error_signal) != 16'd0);

    wire [31:0] present_state = {7'd0, cmd_i, dat_i, 4'b1111, 4'd0,
                                 buf_rd_en, buf_wr_en, rd_active, wr_active, 5'd0,
                                 dat_line_active, dat_inhibit_all, cmd_inhibit};

    always @(*) begin
        case (rd_word)
            SDHCI_SDMA_SYSTEM_ADDRESS_OFFSET: rd_data = sdma_address;
            SDHCI_BLOCK_SIZE_OFFSET: rd_data = w_size;
            SDHCI_ARGUMENT_OFFSET: rd_data = argument_q;
            SDHCI_TRANSFER_MODE_OFFSET: rd_data = w_mode;
            SDHCI_RESPONSE0_OFFSET: rd_data = response[31:0];
            SDHCI_RESPONSE1_OFFSET: rd_data = response[63:32];
            SDHCI_RESPONSE2_OFFSET: rd_data = response[95:64];
            SDHCI_RESPONSE3_OFFSET: rd_data = response[127:96];
            SDHCI_BUFFER_DATA_PORT_OFFSET: rd_data = buf_rd_en ? buf_rdata : 32'd0;
            SDHCI_PRESENT_STATE_OFFSET: rd_data = present_state;
            SDHCI_HOST_CONTROL_1_OFFSET: rd_data = w_host;
            SDHCI_CLOCK_CONTROL_OFFSET: rd_data = w_clock | {30'd0, int_clk_stable, 1'b0};
            SDHCI_NORMAL_INTERRUPT_STATUS_OFFSET: rd_data = {error_status, normal_view};
            SDHCI_NORMAL_INTERRUPT_STATUS_ENABLE_OFFSET: rd_data = w_enable;
            SDHCI_NORMAL_INTERRUPT_SIGNAL_ENABLE_OFFSET: rd_data = w_signal;
            SDHCI_AUTO_CMD_ERROR_STATUS_OFFSET: rd_data = w_acmd;
            SDHCI_CAPABILITIES_OFFSET: rd_data = CAPABILITIES;
            SDHCI_ADMA_ERROR_STATUS_OFFSET: rd_data = {29'd0, adma_error_status};
            SDHCI_ADMA_SYSTEM_ADDRESS_OFFSET: rd_data = adma_address;
            SDHCI_ADMA_SYSTEM_ADDRESS_HI_OFFSET: rd_data = adma_address_hi;
            SDHCI_SLOT_INTERRUPT_STATUS_OFFSET: rd_data = {VERSION, 15'd0, irq};
            default: rd_data = 32'd0;
        endcase
    end
endmodule

`default_nettype wire

variable "region" {
  description = "Region."
  type        = string
  default     = "us-east-1"
}

variable "no_description" {
  type    = string
  default = "x"
}

variable "no_type" {
  description = "Untyped."
  default     = "x"
}

variable "never_read" {
  description = "Declared, never read."
  type        = string
  default     = "x"
}

variable "count_of" {
  description = "Fails its own validation by default."
  type        = number
  default     = 7

  validation {
    condition     = var.count_of >= 1 && var.count_of <= 3
    error_message = "count_of must be 1 to 3."
  }
}

variable "peeks" {
  description = "Validates against another variable."
  type        = string
  default     = "a"

  validation {
    condition     = var.peeks != var.region
    error_message = "peeks must differ from region."
  }
}

variable "token" {
  description = "A secret."
  type        = string
  default     = "t"
  sensitive   = true
}

variable "wrong_default" {
  description = "Its default is not a number."
  type        = number
  default     = "many"
}
